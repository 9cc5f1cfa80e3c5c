from django.urls import path
from rest_framework.routers import SimpleRouter

from webapp.slides import apis

router = SimpleRouter()
router.register("slides", apis.SlideViewSet, basename="slide")
router.register("slide-roots", apis.SlideRootViewSet, basename="slide-root")
router.register("scans", apis.ScanViewSet, basename="scan")

urlpatterns = [
    path("slides/<int:pk>/thumbnail/", apis.SlideImageApi.as_view(), name="slide-thumbnail"),
    path(
        "slides/<int:pk>/associated/<slug:name>/",
        apis.SlideImageApi.as_view(),
        name="slide-associated",
    ),
    path("slides/<int:pk>/dzi.json", apis.DziJsonApi.as_view(), name="slide-dzi-json"),
    path("slides/<int:pk>/dzi.dzi", apis.DziXmlApi.as_view(), name="slide-dzi-xml"),
    path(
        "slides/<int:pk>/dzi_files/<int:level>/<int:col>_<int:row>.jpeg",
        apis.DziTileApi.as_view(),
        name="slide-dzi-tile",
    ),
    *router.urls,
]
