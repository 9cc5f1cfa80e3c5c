"""The baseline for the dataset-export benchmark: a manifest's rows as a DRF paginated JSON list.

What a first implementation of "give me the dataset's tiles" does without manifest files: the
rows in a PostgreSQL table (one row per tile, the manifest's columns, an id primary key), a
`ModelSerializer` over them and a `ListAPIView` with `PageNumberPagination` (`page_size`
1000, `?page=N`), the client following `next` links. DRF's own pagination counts the table
(`SELECT COUNT(*)`) and slices with OFFSET / LIMIT on every page. No authentication, no
permissions, no filters: nothing our server does on top (which favours the baseline).

Served by gunicorn with the same workers and threads as the web app:
    BASELINE_DATABASE_URL=postgresql://… python -m gunicorn bench.baseline_manifest_list:app
URLs: /health (a trivial response) and /rows/?page=N. The table (`TABLE`) is created and
filled by `bench.dataset_export_bench` (COPY from the manifest's CSV).
"""

import os

import dj_database_url
import django
from django.conf import settings

TABLE = "bench_manifest_row"
PAGE_SIZE = 1000

if not settings.configured:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="bench-baseline-not-secret",
        ALLOWED_HOSTS=["127.0.0.1", "localhost"],
        ROOT_URLCONF=__name__,
        USE_TZ=True,
        INSTALLED_APPS=[
            "django.contrib.contenttypes",
            "django.contrib.auth",
            "rest_framework",
            "bench",
        ],
        DATABASES={
            "default": dj_database_url.parse(
                os.environ.get("BASELINE_DATABASE_URL", "postgresql:///postgres"),
                conn_max_age=60,
            )
        },
        REST_FRAMEWORK={
            "DEFAULT_AUTHENTICATION_CLASSES": [],
            "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
            "UNAUTHENTICATED_USER": None,
            "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
        },
    )
    django.setup()

from django.db import models  # noqa: E402 - after settings
from django.http import HttpResponse  # noqa: E402
from django.urls import path  # noqa: E402
from rest_framework import generics, pagination, serializers  # noqa: E402


class ManifestRow(models.Model):
    """One tile of the manifest (MANIFEST_SCHEMA's columns)."""

    id = models.BigAutoField(primary_key=True)
    slide_id = models.BigIntegerField()
    slide_path = models.TextField()
    fingerprint = models.TextField()
    x = models.BigIntegerField()
    y = models.BigIntegerField()
    read_size = models.FloatField()
    tile_size = models.IntegerField()
    target_mpp = models.FloatField()
    group = models.TextField()
    category = models.TextField()
    cluster = models.IntegerField()
    weight = models.FloatField()
    split = models.TextField()

    class Meta:
        app_label = "bench"
        db_table = TABLE
        managed = False

    def __str__(self) -> str:
        return f"tile {self.slide_id} {self.x} {self.y}"


class ManifestRowSerializer(serializers.ModelSerializer):
    class Meta:
        model = ManifestRow
        fields = [
            "slide_id",
            "slide_path",
            "fingerprint",
            "x",
            "y",
            "read_size",
            "tile_size",
            "target_mpp",
            "group",
            "category",
            "cluster",
            "weight",
            "split",
        ]


class Pages(pagination.PageNumberPagination):
    page_size = PAGE_SIZE


class ManifestRowList(generics.ListAPIView):
    queryset = ManifestRow.objects.order_by("id")
    serializer_class = ManifestRowSerializer
    pagination_class = Pages


def health(request):
    return HttpResponse(b"ok", content_type="text/plain")


urlpatterns = [path("health", health), path("rows/", ManifestRowList.as_view())]

from django.core.wsgi import get_wsgi_application  # noqa: E402

app = get_wsgi_application()
