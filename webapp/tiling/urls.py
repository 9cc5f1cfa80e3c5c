from django.urls import path
from rest_framework.routers import SimpleRouter

from webapp.tiling import apis

router = SimpleRouter()
router.register("tiling-configs", apis.TilingConfigViewSet, basename="tiling-config")
router.register("tiling-runs", apis.TilingRunViewSet, basename="tiling-run")

urlpatterns = [
    path("slides/<int:pk>/tilings/", apis.SlideTilingsApi.as_view(), name="slide-tilings"),
    path("slides/<int:pk>/mpp-override/", apis.MppOverrideApi.as_view(), name="slide-mpp"),
    path("slide-tilings/<int:pk>/mask.png", apis.MaskApi.as_view(), name="tiling-mask"),
    path("slide-tilings/<int:pk>/grid/", apis.GridApi.as_view(), name="tiling-grid"),
    path(
        "slide-tilings/<int:pk>/tiles/<int:index>.jpg",
        apis.TileImageApi.as_view(),
        name="tiling-tile",
    ),
    *router.urls,
]
