from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from webapp.core import spa
from webapp.core.health import health

urlpatterns = [
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/health/", health, name="health"),
    path("api/", include("webapp.accounts.urls")),
    path("api/", include("webapp.tagging.urls")),
    path("api/", include("webapp.audit.urls")),
    path("api/", include("webapp.tiling.urls")),
    path("api/", include("webapp.clusters.urls")),
    path("api/", include("webapp.datasets.urls")),
    path("api/", include("webapp.training.urls")),
    path("api/", include("webapp.slides.urls")),
    path("django-admin/", admin.site.urls),
    re_path(r"^(?!api/|static/|django-admin/)(?P<path>.*)$", spa.index, name="spa"),
]

handler404 = "webapp.core.errors.not_found"
handler500 = "webapp.core.errors.server_error"
