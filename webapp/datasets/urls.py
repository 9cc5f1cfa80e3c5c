from django.urls import re_path
from rest_framework.routers import SimpleRouter

from webapp.datasets import apis

router = SimpleRouter()
router.register("datasets", apis.DatasetVersionViewSet, basename="dataset-version")
router.register("exports", apis.ExportJobViewSet, basename="export-job")

urlpatterns = [
    re_path(
        r"^datasets/(?P<pk>\d+)/manifest\.(?P<fmt>parquet|csv|jsonl)$",
        apis.ManifestApi.as_view(),
        name="dataset-manifest",
    ),
    re_path(
        r"^exports/(?P<pk>\d+)/shards/(?P<name>shard-\d{6}\.tar)$",
        apis.ShardApi.as_view(),
        name="export-shard",
    ),
    *router.urls,
]
