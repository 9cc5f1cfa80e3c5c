"""Thin views over the cluster services: semantic categories, runs, clusters and review."""

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response
from rest_framework.views import APIView

from webapp.accounts.permissions import IsActiveUser, IsAdmin, IsCurator, ReadOrAdmin, ReadOrCurator
from webapp.clusters import serializers as s
from webapp.clusters.filters import ClusterFilter, ClusterRunFilter
from webapp.clusters.models import Cluster, ClusterRun
from webapp.clusters.services import categories, results, review, runs
from webapp.clusters.tasks import enqueue_run
from webapp.core.errors import ServiceError
from webapp.slides import access
from webapp.tagging.models import SlideGroup

JPEG = OpenApiResponse(OpenApiTypes.BINARY, description="JPEG image")


class SemanticCategoryViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """The vocabulary clusters are named with (a small list: not paginated)."""

    permission_classes = [ReadOrCurator]
    serializer_class = s.SemanticCategorySerializer
    pagination_class = None
    filter_backends = []
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        return categories.categories_list()

    def perform_create(self, serializer):
        serializer.instance = categories.category_create(
            actor=self.request.user, **serializer.validated_data
        )

    def perform_update(self, serializer):
        serializer.instance = categories.category_update(
            actor=self.request.user, category=serializer.instance, **serializer.validated_data
        )

    def update(self, request, *args, **kwargs):
        super().update(request, *args, **kwargs)
        return Response(self.get_serializer(self.get_queryset().get(pk=kwargs["pk"])).data)

    def perform_destroy(self, instance):
        categories.category_delete(actor=self.request.user, category=instance)


def _run_data(run: ClusterRun, request) -> dict:
    context = {"review": review.review_counts([run.pk]), "request": request}
    return s.ClusterRunSerializer(run, context=context).data


class ClusterRunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Cluster runs, newest first. Admins launch, cancel, resume, lock and unlock; admins and
    pathologists merge clusters."""

    serializer_class = s.ClusterRunSerializer
    filterset_class = ClusterRunFilter
    queryset = ClusterRun.objects.select_related("config", "created_by", "locked_by").order_by(
        "-created_at", "-id"
    )

    def get_permissions(self):
        if self.action == "merge":
            return [IsCurator()]
        return [ReadOrAdmin()]

    def get_serializer_context(self):
        context = super().get_serializer_context()
        context["review"] = getattr(self, "_review", {})
        return context

    def list(self, request, *args, **kwargs):
        runs.runs_mark_interrupted()
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        self._review = review.review_counts([run.pk for run in page])
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request, *args, **kwargs):
        runs.runs_mark_interrupted()
        return Response(_run_data(self.get_object(), request))

    @extend_schema(request=s.ClusterRunCreateSerializer, responses={202: s.ClusterRunSerializer})
    def create(self, request):
        data = s.ClusterRunCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        group = None
        if v["group"] is not None:
            group = SlideGroup.objects.filter(pk=v["group"]).first()
            if group is None:
                raise ServiceError("No slide group with that id.", code="unknown_group")
        run = runs.run_launch(
            actor=request.user,
            name=v["name"],
            config=v["config"],
            feature_kind=v["feature_kind"],
            embedding_model=v["embedding_model"],
            params={name: v[name] for name in runs.PARAM_NAMES},
            slide_ids=v["slides"],
            group=group,
            enqueue=enqueue_run,
        )
        return Response(_run_data(run, request), status=status.HTTP_202_ACCEPTED)

    def _act(self, verb, **kwargs) -> Response:
        run = verb(actor=self.request.user, run=self.get_object(), **kwargs)
        return Response(_run_data(ClusterRun.objects.get(pk=run.pk), self.request))

    @extend_schema(request=None, responses=s.ClusterRunSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Stop the run: at once when queued or interrupted, else at its next slide or phase."""
        return self._act(runs.run_cancel)

    @extend_schema(request=None, responses=s.ClusterRunSerializer)
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        """Queue an interrupted, failed or cancelled run again (it continues where it was)."""
        return self._act(runs.run_resume, enqueue=enqueue_run)

    @extend_schema(request=None, responses=s.ClusterRunSerializer)
    @action(detail=True, methods=["post"])
    def lock(self, request, pk=None):
        """Final review: decisions and merges are refused (409 locked) until unlocked."""
        return self._act(runs.run_set_locked, locked=True)

    @extend_schema(request=None, responses=s.ClusterRunSerializer)
    @action(detail=True, methods=["post"])
    def unlock(self, request, pk=None):
        return self._act(runs.run_set_locked, locked=False)

    @extend_schema(responses=s.MapSerializer)
    @action(detail=True, methods=["get"])
    def map(self, request, pk=None):
        """Centroids (with cluster id, colour, status) and a sample of tiles in 2-D."""
        return Response(results.run_map(self.get_object()))

    @extend_schema(responses=s.DisagreementSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None)
    def disagreements(self, request, pk=None):
        """Clusters whose reviewers' latest votes differ (not settled since), with the votes."""
        found = review.run_disagreements(self.get_object())
        return Response(
            s.DisagreementSerializer(
                [{"cluster": c, "votes": votes} for c, votes in found], many=True
            ).data
        )

    @extend_schema(request=s.MergeSerializer, responses=s.ClusterSerializer(many=True))
    @action(detail=True, methods=["post"])
    def merge(self, request, pk=None):
        data = s.MergeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        merged = review.clusters_merge(
            actor=request.user,
            run=self.get_object(),
            target_id=data.validated_data["target"],
            cluster_ids=data.validated_data["clusters"],
        )
        return Response(s.ClusterSerializer(merged, many=True).data)

    @extend_schema(
        parameters=[s.SimilarQuerySerializer], responses=s.SimilarSerializer, filters=False
    )
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def similar(self, request, pk=None):
        """The tiles of the run most like one tile (`slide`, `index` in its tile file)."""
        query = s.SimilarQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        q = query.validated_data
        run = self.get_object()
        access.require_slide_visible(request.user, q["slide"])
        found = results.similar(run, slide_id=q["slide"], index=q["index"], k=q["k"])
        return Response({"results": access.without_hidden(request.user, found)})


class SlideLabelsApi(APIView):
    """Every tile's cluster on one slide, aligned with its tile grid, for the viewer."""

    @extend_schema(responses=s.LabelsSerializer)
    def get(self, request, pk: int, slide_id: int):
        run = get_object_or_404(ClusterRun, pk=pk)
        access.require_slide_visible(request.user, slide_id)
        return Response(results.slide_labels(run, slide_id))


class ClusterViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Clusters of one run (`?run=` required), by index; review, votes, settlement."""

    serializer_class = s.ClusterSerializer
    filterset_class = ClusterFilter
    ordering_fields = ["index", "size", "share"]
    ordering = ["index"]
    queryset = Cluster.objects.select_related("category", "reviewed_by", "settled_by")

    def get_queryset(self):
        if self.action == "retrieve":  # the detail's exemplars refer to the run's tiling
            return super().get_queryset().select_related("run__config")
        # Only the detail shows the composition and exemplars: kilobytes of JSON per cluster
        # that every other action (the list: up to 200 rows) would parse for nothing.
        return super().get_queryset().defer("composition", "exemplars")

    def filter_queryset(self, queryset):
        # The filters (`run` required) are the list's; one cluster is found by its id alone.
        return super().filter_queryset(queryset) if self.action == "list" else queryset

    def get_permissions(self):
        if self.action == "settle":
            return [IsAdmin()]
        if self.request.method not in SAFE_METHODS:
            return [IsCurator()]
        return [IsActiveUser()]

    @extend_schema(responses=s.ClusterDetailSerializer)
    def retrieve(self, request, *args, **kwargs):
        cluster = self.get_object()
        user = request.user
        exemplars = {
            kind: access.without_hidden(user, refs)
            for kind, refs in results.cluster_exemplars(cluster).items()
        }
        if cluster.composition.get("slide"):  # the top slides: not those hidden from the user
            slides = access.without_hidden(user, cluster.composition["slide"], key="key")
            cluster.composition = {**cluster.composition, "slide": slides}  # not saved
        context = {**self.get_serializer_context(), "exemplars": exemplars}
        return Response(s.ClusterDetailSerializer(cluster, context=context).data)

    def _decide(self, request, *, settle: bool) -> Response:
        data = s.DecisionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = dict(data.validated_data)
        version = v.pop("version")
        try:
            cluster = review.cluster_decide(
                actor=request.user,
                cluster=self.get_object(),
                version=version,
                decision=review.decision_check(**v),
                settle=settle,
            )
        except review.StaleDecision as exc:
            return Response(
                {
                    "detail": exc.detail,
                    "code": exc.code,
                    "current": s.ClusterSerializer(exc.current).data,
                },
                status=exc.status_code,
            )
        return Response(s.ClusterSerializer(cluster).data)

    @extend_schema(
        request=s.DecisionSerializer,
        responses={200: s.ClusterSerializer, 409: s.StaleSerializer},
    )
    @action(detail=True, methods=["post"])
    def review(self, request, pk=None):
        """Decide on the cluster, given the `version` you saw; 409 stale with the current
        cluster when someone decided first, 409 locked, 409 merged."""
        return self._decide(request, settle=False)

    @extend_schema(
        request=s.DecisionSerializer,
        responses={200: s.ClusterSerializer, 409: s.StaleSerializer},
    )
    @action(detail=True, methods=["post"])
    def settle(self, request, pk=None):
        """An admin's final decision on a disagreement (same body as review)."""
        return self._decide(request, settle=True)

    @extend_schema(request=None, responses=s.ClusterSerializer)
    @action(detail=True, methods=["post"])
    def unmerge(self, request, pk=None):
        """Take a merged cluster back out of its target (unreviewed again)."""
        cluster = review.cluster_unmerge(actor=request.user, cluster=self.get_object())
        return Response(s.ClusterSerializer(cluster).data)

    @extend_schema(responses=s.VoteSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def votes(self, request, pk=None):
        return Response(s.VoteSerializer(review.cluster_votes(self.get_object()), many=True).data)


def _cluster(pk: int) -> Cluster:
    return get_object_or_404(Cluster.objects.select_related("run__config"), pk=pk)


class MontageApi(APIView):
    """Up to 12 exemplar tiles of a kind as one small JPEG."""

    @extend_schema(
        parameters=[OpenApiParameter("kind", str, enum=["representative", "boundary", "random"])],
        responses={(200, "image/jpeg"): JPEG},
    )
    def get(self, request, pk: int):
        kind = request.query_params.get("kind", "representative")
        cluster = _cluster(pk)
        tiles = [t for k in results.EXEMPLAR_KINDS for t in cluster.exemplars.get(k, [])]
        hidden = access.hidden_slide_ids(request.user, (t["slide"] for t in tiles))
        jpeg = results.montage_jpeg(cluster, kind, hidden=hidden)
        response = HttpResponse(jpeg, content_type="image/jpeg")
        response["Cache-Control"] = "private, max-age=3600"
        return response
