from django.urls import path
from rest_framework.routers import SimpleRouter

from webapp.clusters import apis

router = SimpleRouter()
router.register("semantic-categories", apis.SemanticCategoryViewSet, basename="semantic-category")
router.register("cluster-runs", apis.ClusterRunViewSet, basename="cluster-run")
router.register("clusters", apis.ClusterViewSet, basename="cluster")

urlpatterns = [
    path(
        "cluster-runs/<int:pk>/slides/<int:slide_id>/labels/",
        apis.SlideLabelsApi.as_view(),
        name="cluster-run-slide-labels",
    ),
    path("clusters/<int:pk>/montage.jpg", apis.MontageApi.as_view(), name="cluster-montage"),
    *router.urls,
]
