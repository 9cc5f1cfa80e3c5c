from django.urls import path
from rest_framework.routers import SimpleRouter

from webapp.training import apis

router = SimpleRouter()
router.register("training/runs", apis.TrainingRunViewSet, basename="training-run")

urlpatterns = [
    path("training/presets/", apis.PresetsApi.as_view(), name="training-presets"),
    *router.urls,
]
