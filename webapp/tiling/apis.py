import random

from django.http import FileResponse, HttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from PIL import Image
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from curation.slide_metadata import SlideReadError, render_jpeg
from curation.slide_reader import SlideReader
from curation.tile_store import read_tiles
from webapp.accounts.permissions import IsAdmin, ReadOrAdmin
from webapp.core.errors import NotFound, ServiceError
from webapp.core.paths import inside_data_root
from webapp.slides import access
from webapp.slides.models import Slide
from webapp.tagging.models import SlideGroup
from webapp.tiling import serializers as s
from webapp.tiling import services
from webapp.tiling.models import SlideTiling, TileStatus, TilingConfig, TilingRun
from webapp.tiling.tasks import enqueue_run

PNG = OpenApiResponse(OpenApiTypes.BINARY, description="PNG image")
JPEG = OpenApiResponse(OpenApiTypes.BINARY, description="JPEG image")


class TilingConfigViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Saved tiling parameters; admins create them (a config is immutable: its key names the
    tile store folder)."""

    permission_classes = [ReadOrAdmin]
    serializer_class = s.TilingConfigSerializer
    queryset = TilingConfig.objects.order_by("name")

    def perform_create(self, serializer):
        serializer.instance = services.config_create(
            user=self.request.user, **serializer.validated_data
        )


class TilingRunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    permission_classes = [ReadOrAdmin]
    serializer_class = s.TilingRunSerializer
    queryset = TilingRun.objects.select_related("config").order_by("-created_at")
    filterset_fields = ["config", "status"]

    @extend_schema(request=s.TilingRunCreateSerializer, responses={202: s.TilingRunSerializer})
    def create(self, request):
        data = s.TilingRunCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        group = None
        if data.validated_data.get("group"):
            group = SlideGroup.objects.filter(pk=data.validated_data["group"]).first()
            if group is None:
                raise ServiceError("No slide group with that id.", code="unknown_group")
        run = services.run_start(
            config=data.validated_data["config"],
            slide_ids=data.validated_data.get("slides"),
            group=group,
            untiled=data.validated_data["untiled"],
            user=request.user,
            enqueue=enqueue_run,
        )
        return Response(s.TilingRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)

    # The runs' list filters (`?status=` of a run, `?config=`) do not apply to the run's
    # slides: `?status=` here is a slide's tiling status.
    @extend_schema(
        parameters=[OpenApiParameter("status", str, enum=TileStatus.values)],
        responses=s.SlideTilingSerializer(many=True),
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def slides(self, request, pk=None):
        """Per-slide progress, tile counts, tissue area and failures of this run."""
        tilings = (
            access.visible_related(request.user, SlideTiling.objects.filter(run=self.get_object()))
            .select_related("slide", "config")
            .order_by("status", "slide__name")
        )
        wanted = request.query_params.get("status")
        if wanted:
            tilings = tilings.filter(status=wanted)
        page = self.paginate_queryset(tilings)
        return self.get_paginated_response(s.SlideTilingSerializer(page, many=True).data)

    @extend_schema(
        parameters=[
            OpenApiParameter("n", int, description="How many tiles: 1 to 100 (default 24).")
        ],
        responses=s.GalleryTileSerializer(many=True),
    )
    @action(detail=True, methods=["get"], filter_backends=[], pagination_class=None)
    def gallery(self, request, pk=None):
        """Random tiles of the run (`?n=24`, at most 100) for a quick look."""
        try:
            n = int(request.query_params.get("n") or 24)
        except ValueError as exc:
            raise ValidationError({"n": ["A whole number is required."]}) from exc
        n = max(1, min(n, 100))
        tilings = list(
            access.visible_related(
                request.user,
                SlideTiling.objects.filter(run=self.get_object(), status="done", tile_count__gt=0),
            ).order_by("?")[:n]
        )
        rng = random.Random(int(pk))
        out = []
        for i, tiling in enumerate(tilings):
            # Spread the n picks over the slides; each slide's file is read once.
            share = n // len(tilings) + (1 if i < n % len(tilings) else 0)
            table = read_tiles(_tiling_file(tiling), columns=["x", "y"])
            for row in rng.sample(range(table.num_rows), min(share, table.num_rows)):
                out.append(
                    {
                        "slide": tiling.slide_id,
                        "tiling": tiling.pk,
                        "index": row,
                        "x": table["x"][row].as_py(),
                        "y": table["y"][row].as_py(),
                        "url": f"/api/slide-tilings/{tiling.pk}/tiles/{row}.jpg",
                    }
                )
        return Response(out)


def _tiling_file(tiling: SlideTiling, suffix: str = ""):
    return inside_data_root(services.tiling_file(tiling, suffix))


def _tiling(request, pk: int) -> SlideTiling:
    tilings = access.visible_related(request.user, SlideTiling.objects.all())
    return get_object_or_404(tilings.select_related("slide__root", "config"), pk=pk)


class SlideTilingsApi(APIView):
    @extend_schema(responses=s.SlideTilingSerializer(many=True))
    def get(self, request, pk: int):
        slide = access.visible_slide_or_404(request.user, pk)
        tilings = SlideTiling.objects.filter(slide=slide).select_related("slide", "config")
        return Response(s.SlideTilingSerializer(tilings, many=True).data)


class MaskApi(APIView):
    @extend_schema(responses={(200, "image/png"): PNG})
    def get(self, request, pk: int):
        response = FileResponse(
            _tiling_file(_tiling(request, pk), ".mask.png").open("rb"),
            content_type="image/png",
        )
        response["Cache-Control"] = "private, max-age=300"
        return response


class GridApi(APIView):
    """The kept tiles' level-0 positions, for the viewer's grid overlay."""

    @extend_schema(responses=s.GridSerializer)
    def get(self, request, pk: int):
        table = read_tiles(
            _tiling_file(_tiling(request, pk)),
            columns=["x", "y", "size", "mpp", "tissue_fraction"],
        )
        size = float(table["size"][0].as_py()) if table.num_rows else 0.0
        mpp = float(table["mpp"][0].as_py()) if table.num_rows else 0.0
        return Response(
            {
                "size": size,
                "mpp": mpp,
                "x": table["x"].to_pylist(),
                "y": table["y"].to_pylist(),
                "tissue_fraction": [round(v, 3) for v in table["tissue_fraction"].to_pylist()],
            }
        )


class TileImageApi(APIView):
    """One tile as the tiler saw it (read from the slide at the configuration's µm/px)."""

    @extend_schema(responses={(200, "image/jpeg"): JPEG})
    def get(self, request, pk: int, index: int):
        tiling = _tiling(request, pk)
        table = read_tiles(_tiling_file(tiling), columns=["x", "y"])
        if not 0 <= index < table.num_rows:
            raise NotFound(f"No tile {index}; the slide has {table.num_rows}.")
        params = services.parse_params(tiling.config.params)
        try:
            with SlideReader(
                tiling.slide.absolute_path, mpp_override=tiling.slide.mpp_override
            ) as reader:
                pixels = reader.read(
                    table["x"][index].as_py(),
                    table["y"][index].as_py(),
                    params.tile_size,
                    params.target_mpp,
                )
        except SlideReadError as exc:
            raise NotFound(f"The slide cannot be read now: {exc}") from exc
        response = HttpResponse(render_jpeg(Image.fromarray(pixels)), content_type="image/jpeg")
        response["Cache-Control"] = "private, max-age=3600"
        return response


class MppOverrideApi(APIView):
    """Set (or clear with null) the µm/px of a slide whose file has none usable."""

    permission_classes = [IsAdmin]

    @extend_schema(request=s.MppOverrideSerializer, responses=s.MppOverrideSerializer)
    def post(self, request, pk: int):
        data = s.MppOverrideSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        slide = get_object_or_404(Slide, pk=pk)
        slide.mpp_override = data.validated_data["mpp"]
        slide.save(update_fields=["mpp_override", "updated_at"])
        return Response({"mpp": slide.mpp_override})
