"""Thin views over the dataset services: versions (drafts, preview, build, clone, stats,
recipe, diff), manifest downloads, export jobs and their shards."""

import re

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response
from rest_framework.views import APIView

from webapp.accounts.permissions import IsActiveUser, IsCurator
from webapp.clusters.services.results import run_sources
from webapp.core.errors import NotFound, ServiceError
from webapp.datasets import serializers as s
from webapp.datasets.filters import DatasetVersionFilter, ExportJobFilter
from webapp.datasets.models import DatasetVersion, ExportJob, VersionStatus
from webapp.datasets.services import builds, exports, files, preview, versions
from webapp.datasets.services.diff import version_diff
from webapp.datasets.tasks import enqueue_build, enqueue_export
from webapp.slides import access

CONTENT_TYPES = {
    "parquet": "application/vnd.apache.parquet",
    "csv": "text/csv; charset=utf-8",
    "jsonl": "application/x-ndjson; charset=utf-8",
}
FILE = OpenApiResponse(OpenApiTypes.BINARY, description="The file (byte ranges supported)")
# 200 (the whole file) and 206 (a byte range) in each media type the endpoint serves.
MANIFEST_RESPONSES = {
    (code, media_type.split(";")[0]): FILE
    for code in (200, 206)
    for media_type in CONTENT_TYPES.values()
}
SHARD_RESPONSES = {(code, "application/x-tar"): FILE for code in (200, 206)}


class AnyAccept(BaseContentNegotiation):
    """File downloads answer whatever the client accepts (errors are JSON)."""

    def select_parser(self, request, parsers):
        return parsers[0]

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


def _not_built(version: DatasetVersion) -> ServiceError:
    return ServiceError(
        f"Version {version.pk} is {version.status}; it has no manifest until it is built.",
        code="not_built",
        status_code=409,
    )


def _slide_ids(version: DatasetVersion):
    """The slides a version may contain: its cluster run's (read only when needed)."""
    yield from _run_slide_ids(version.cluster_run)


def _run_slide_ids(run):
    try:
        yield from run_sources(run)
    except NotFound:  # the run never chose its slides: nothing of any root
        return


def _require_access(user, version: DatasetVersion) -> None:
    """403 restricted_root for a user who may not see every slide the version may hold: its
    files carry slide paths and tiles, and are not rewritten per user (nor are its preview,
    diff and per-slide stats)."""
    access.require_all_visible(user, _slide_ids(version), f"Dataset version {version.pk}")


def _require_run_access(user, run) -> None:
    """403 restricted_root for making a version over a run with slides `user` may not see."""
    access.require_all_visible(user, _run_slide_ids(run), f"Cluster run {run.pk}")


# Stats keys that tell about single slides or their tags: blanked for a user who may not see
# every slide of the version, as are notes naming a slide; the totals and cells stay.
SLIDE_STATS = {"by_lab": [], "by_scanner": [], "by_stain": [], "tiles_per_slide": None}
NAMES_A_SLIDE = re.compile(r"\bslide \d")


def _stats_for(user, version: DatasetVersion) -> dict:
    stats = version.stats
    if isinstance(stats, dict) and access.hidden_slide_ids(user, _slide_ids(version)):
        note = (
            "Per-slide, per-lab, per-scanner and per-stain figures are left out: the version "
            "holds slides of a restricted slide root you have no access to."
        )
        notes = [n for n in stats.get("notes", []) if not NAMES_A_SLIDE.search(str(n))]
        stats = {**stats, **SLIDE_STATS, "notes": [*notes, note]}
    return stats


class DatasetVersionViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Dataset versions, newest first. Everyone reads and previews; pathologists and admins
    create, edit and delete drafts, build, clone and export. Built versions are immutable."""

    serializer_class = s.DatasetVersionSerializer
    filterset_class = DatasetVersionFilter
    ordering_fields = ["created_at", "name", "built_at"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    queryset = DatasetVersion.objects.select_related(
        "cluster_run", "created_by", "built_by"
    ).order_by("-created_at", "-id")

    def get_permissions(self):
        if self.request.method in SAFE_METHODS or self.action == "preview":
            return [IsActiveUser()]
        return [IsCurator()]

    def list(self, request, *args, **kwargs):
        builds.versions_mark_stale()
        return super().list(request, *args, **kwargs)

    def retrieve(self, request, *args, **kwargs):
        builds.versions_mark_stale()
        return super().retrieve(request, *args, **kwargs)

    def _data(self, version: DatasetVersion, code: int = 200) -> Response:
        version = self.get_queryset().get(pk=version.pk)
        return Response(s.DatasetVersionSerializer(version).data, status=code)

    @extend_schema(
        request=s.DatasetVersionCreateSerializer, responses={201: s.DatasetVersionSerializer}
    )
    def create(self, request):
        data = s.DatasetVersionCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        _require_run_access(request.user, data.validated_data["cluster_run"])
        version = versions.version_create(actor=request.user, **data.validated_data)
        return self._data(version, status.HTTP_201_CREATED)

    @extend_schema(request=s.DatasetVersionUpdateSerializer, responses=s.DatasetVersionSerializer)
    def partial_update(self, request, pk=None):
        data = s.DatasetVersionUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if "cluster_run" in data.validated_data:
            _require_run_access(request.user, data.validated_data["cluster_run"])
        version = versions.version_update(
            actor=request.user, version=self.get_object(), **data.validated_data
        )
        return self._data(version)

    def perform_destroy(self, instance):
        versions.version_delete(actor=self.request.user, version=instance)

    @extend_schema(request=s.PreviewRequestSerializer, responses=s.PreviewSerializer)
    @action(detail=True, methods=["post"])
    def preview(self, request, pk=None):
        """Estimated group × category counts for the recipe (default: the stored one), from
        the run's composition, before quality filters. Builds nothing."""
        data = s.PreviewRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        version = self.get_object()
        _require_access(request.user, version)
        recipe = data.validated_data.get("recipe", version.recipe)
        return Response(preview.preview(version.cluster_run, recipe))

    @extend_schema(request=None, responses={202: s.DatasetVersionSerializer})
    @action(detail=True, methods=["post"])
    def build(self, request, pk=None):
        """Build on the cpu queue (202). 409 `unreviewed` while clusters are unreviewed and
        the recipe does not include them; 409 `immutable` for a built version."""
        version = self.get_object()
        _require_access(request.user, version)
        version = builds.version_build_start(
            actor=request.user, version=version, enqueue=enqueue_build
        )
        return self._data(version, status.HTTP_202_ACCEPTED)

    @extend_schema(request=s.CloneSerializer, responses={201: s.DatasetVersionSerializer})
    @action(detail=True, methods=["post"])
    def clone(self, request, pk=None):
        """A new draft with the same cluster run and recipe (`parent` = this version)."""
        data = s.CloneSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        version = self.get_object()
        _require_access(request.user, version)
        version = versions.version_clone(actor=request.user, version=version, **data.validated_data)
        return self._data(version, status.HTTP_201_CREATED)

    @extend_schema(responses={200: s.StatsSchema})
    @action(detail=True, methods=["get"])
    def stats(self, request, pk=None):
        version = self.get_object()
        if version.status != VersionStatus.BUILT:
            raise _not_built(version)
        return Response(_stats_for(request.user, version))

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["get"])
    def recipe(self, request, pk=None):
        return Response(self.get_object().recipe)

    @extend_schema(parameters=[s.DiffQuerySerializer], responses=s.DiffSerializer, filters=False)
    @action(detail=True, methods=["get"], filter_backends=[])
    def diff(self, request, pk=None):
        """What changed from this version to `other` (both built)."""
        query = s.DiffQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        other = DatasetVersion.objects.filter(pk=query.validated_data["other"]).first()
        if other is None:
            raise ServiceError(
                "No dataset version with that id.", code="not_found", status_code=404
            )
        version = self.get_object()
        for each in (version, other):
            _require_access(request.user, each)
        return Response(version_diff(version, other))

    @extend_schema(
        methods=["POST"], request=s.ExportCreateSerializer, responses={202: s.ExportJobSerializer}
    )
    @extend_schema(methods=["GET"], responses=s.ExportJobSerializer(many=True))
    @action(detail=True, methods=["get", "post"], pagination_class=None, filter_backends=[])
    def exports(self, request, pk=None):
        """GET: this version's export jobs, newest first. POST: a WebDataset export (202)."""
        version = self.get_object()
        if request.method != "GET":
            _require_access(request.user, version)
        if request.method == "GET":
            exports.exports_mark_interrupted()
            jobs = version.exports.order_by("-created_at", "-id")
            return Response(
                s.ExportJobSerializer(jobs, many=True, context={"request": request}).data
            )
        data = s.ExportCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        job = exports.export_start(
            actor=request.user,
            version=version,
            shard_size=data.validated_data["shard_size"],
            jpeg_quality=data.validated_data["jpeg_quality"],
            enqueue=enqueue_export,
        )
        data = s.ExportJobSerializer(job, context={"request": request}).data
        return Response(data, status=status.HTTP_202_ACCEPTED)


class ManifestApi(APIView):
    """A built version's manifest as Parquet, CSV or JSON Lines: Content-Length, ETag (the
    checksum and format), If-None-Match → 304, single byte ranges → 206 / 416."""

    content_negotiation_class = AnyAccept

    @extend_schema(responses={**MANIFEST_RESPONSES, 304: None, 416: None})
    def get(self, request, pk: int, fmt: str):
        version = get_object_or_404(DatasetVersion, pk=pk)
        if version.status != VersionStatus.BUILT:
            raise _not_built(version)
        _require_access(request.user, version)
        return files.file_response(
            request,
            builds.manifest_path(version, fmt),
            etag=f"{version.checksum}-{fmt}",
            content_type=CONTENT_TYPES[fmt],
            filename=f"dataset-{version.pk}-{files.safe_name(version.name)}.{fmt}",
        )


class ExportJobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Export jobs (`?dataset=` filters), with progress, finished shards and the report."""

    serializer_class = s.ExportJobSerializer
    filterset_class = ExportJobFilter
    queryset = ExportJob.objects.order_by("-created_at", "-id")

    def list(self, request, *args, **kwargs):
        exports.exports_mark_interrupted()
        return super().list(request, *args, **kwargs)

    def retrieve(self, request, *args, **kwargs):
        exports.exports_mark_interrupted()
        return super().retrieve(request, *args, **kwargs)


class ShardApi(APIView):
    """One finished shard of an export, ranged like the manifests."""

    content_negotiation_class = AnyAccept

    @extend_schema(
        parameters=[OpenApiParameter("name", str, OpenApiParameter.PATH)],
        responses={**SHARD_RESPONSES, 304: None, 416: None},
    )
    def get(self, request, pk: int, name: str):
        job = get_object_or_404(ExportJob.objects.select_related("version"), pk=pk)
        _require_access(request.user, job.version)
        path = exports.export_dir(job) / name
        if not path.is_file():
            raise ServiceError(
                "No finished shard with that name.", code="not_found", status_code=404
            )
        return files.file_response(
            request,
            path,
            etag=f"{job.version.checksum}-{job.pk}-{job.shard_size}-{name}",
            content_type="application/x-tar",
            filename=f"dataset-{job.version_id}-export-{job.pk}-{name}",
        )
