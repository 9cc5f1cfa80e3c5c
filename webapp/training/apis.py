"""Thin views over the training services: presets, runs (launch, cancel, resume), their
metrics for charts, and the exported backbone. Everyone reads; admins launch and act."""

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from webapp.accounts.permissions import ReadOrAdmin
from webapp.core.paths import inside_data_root
from webapp.datasets.apis import AnyAccept, _require_access
from webapp.training import serializers as s
from webapp.training.filters import TrainingRunFilter
from webapp.training.models import TrainingRun
from webapp.training.services import metrics, runs
from webapp.training.tasks import enqueue_run

SAFETENSORS = OpenApiResponse(OpenApiTypes.BINARY, description="The backbone (safetensors)")


class PresetsApi(APIView):
    """The trainer's recipe presets, each with every Recipe field."""

    @extend_schema(responses=s.PresetSerializer(many=True))
    def get(self, request):
        return Response(s.PresetSerializer(runs.presets(), many=True).data)


class TrainingRunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Training runs, newest first."""

    permission_classes = [ReadOrAdmin]
    serializer_class = s.TrainingRunSerializer
    filterset_class = TrainingRunFilter
    ordering_fields = ["created_at", "name"]
    queryset = TrainingRun.objects.select_related("dataset_version", "created_by").order_by(
        "-created_at", "-id"
    )

    def list(self, request, *args, **kwargs):
        runs.runs_mark_interrupted()
        return super().list(request, *args, **kwargs)

    def retrieve(self, request, *args, **kwargs):
        runs.runs_mark_interrupted()
        return super().retrieve(request, *args, **kwargs)

    def _data(self, run: TrainingRun, code: int = status.HTTP_200_OK) -> Response:
        return Response(self.get_serializer(self.get_queryset().get(pk=run.pk)).data, status=code)

    @extend_schema(request=s.TrainingRunCreateSerializer, responses={201: s.TrainingRunSerializer})
    def create(self, request):
        data = s.TrainingRunCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        run = runs.run_launch(
            actor=request.user,
            name=v["name"],
            dataset_version=v["dataset_version"],
            preset=v["preset"],
            model=v["model"] or None,
            weights=v["weights"] or None,
            overrides=v["overrides"],
            eval_folder=v["eval_folder"] or "",
            enqueue=enqueue_run,
        )
        return self._data(run, status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={202: s.TrainingRunSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Stop the run: at once when queued or interrupted, else after its current step
        (with a checkpoint and the backbone exported). 409 not_running when finished."""
        run = runs.run_cancel(actor=request.user, run=self.get_object())
        return self._data(run, status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses={202: s.TrainingRunSerializer})
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        """Queue an interrupted, failed or cancelled run again, from its latest checkpoint."""
        run = runs.run_resume(actor=request.user, run=self.get_object(), enqueue=enqueue_run)
        return self._data(run, status.HTTP_202_ACCEPTED)

    @extend_schema(parameters=[s.MetricsQuerySerializer], responses=s.MetricsSerializer)
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def metrics(self, request, pk=None):
        """Step series and evaluations, evenly downsampled to at most `max_points` each."""
        query = s.MetricsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        return Response(metrics.run_metrics(self.get_object(), query.validated_data["max_points"]))

    @extend_schema(responses={(200, "application/octet-stream"): SAFETENSORS})
    @action(
        detail=True,
        methods=["get"],
        pagination_class=None,
        filter_backends=[],
        content_negotiation_class=AnyAccept,
    )
    def backbone(self, request, pk=None):
        """The exported teacher backbone (404 no_backbone until the run finishes or is
        cancelled)."""
        run = self.get_object()
        _require_access(request.user, run.dataset_version)
        path = inside_data_root(runs.backbone_file(run))
        name = runs.backbone_download_name(run, runs.backbone_card(run))
        return FileResponse(
            path.open("rb"),
            as_attachment=True,
            filename=name,
            content_type="application/octet-stream",
        )

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    @action(
        detail=True,
        methods=["get"],
        url_path="backbone/card",
        pagination_class=None,
        filter_backends=[],
    )
    def backbone_card(self, request, pk=None):
        """The model card: timm name, image size, embed dim, step, recipe, dataset, metrics."""
        run = self.get_object()
        _require_access(request.user, run.dataset_version)
        return Response(runs.backbone_card(run))
