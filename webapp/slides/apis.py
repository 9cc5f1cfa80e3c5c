from django.http import FileResponse, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from webapp.accounts.permissions import IsAdmin, ReadOrAdmin
from webapp.slides import access, deepzoom, selectors, serializers
from webapp.slides.filters import ScanFilter, SlideFilter
from webapp.slides.models import ScanJob, Slide
from webapp.slides.services import registration, roots
from webapp.slides.services.images import slide_image_path
from webapp.slides.tasks import enqueue_scan

# Tiles and images of a slide are private (logged-in users) but stable for a given ETag.
IMAGE_CACHE_CONTROL = "private, max-age=86400"
JPEG_RESPONSE = OpenApiResponse(OpenApiTypes.BINARY, description="JPEG image")


class SlideViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    filterset_class = SlideFilter
    ordering_fields = ["name", "created_at", "size_bytes", "mpp_x", "updated_at"]
    ordering = ["name", "id"]

    def get_queryset(self):
        queryset = selectors.slide_detail() if self.action == "retrieve" else selectors.slide_list()
        if getattr(self, "swagger_fake_view", False):  # the schema: no user, no query
            return queryset
        return access.visible_slides(self.request.user, queryset)

    def get_serializer_class(self):
        if self.action == "retrieve":
            return serializers.SlideDetailSerializer
        return serializers.SlideListSerializer

    @extend_schema(responses=serializers.SlideFacetsSerializer)
    @action(detail=False, pagination_class=None, filterset_class=None)
    def facets(self, request):
        """Counts per status and vendor, for the browser's filter controls."""
        return Response(selectors.slide_facets(access.visible_slides(request.user)))


def _not_modified(request, etag: str) -> bool:
    return request.headers.get("If-None-Match", "").strip('"W/ ') == etag


def _jpeg(data: bytes, etag: str) -> HttpResponse:
    response = HttpResponse(data, content_type="image/jpeg")
    response["ETag"] = f'"{etag}"'
    response["Cache-Control"] = IMAGE_CACHE_CONTROL
    return response


class SlideImageApi(APIView):
    """The thumbnail or an associated image (label, macro, …) as JPEG."""

    @extend_schema(responses={(200, "image/jpeg"): JPEG_RESPONSE, 304: None})
    def get(self, request, pk: int, name: str = "thumbnail"):
        slide = access.visible_slide_or_404(request.user, pk, Slide.objects.select_related("root"))
        etag = f"{slide.fingerprint}-{name}"
        if _not_modified(request, etag):
            return HttpResponse(status=status.HTTP_304_NOT_MODIFIED)
        path = slide_image_path(slide=slide, name=name)
        response = FileResponse(path.open("rb"), content_type="image/jpeg")
        response["ETag"] = f'"{etag}"'
        response["Cache-Control"] = IMAGE_CACHE_CONTROL
        return response


class DziJsonApi(APIView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request, pk: int):
        access.require_slide_visible(request.user, pk)
        return Response(deepzoom.descriptor(deepzoom.tile_source(pk)))


class DziXmlApi(APIView):
    @extend_schema(
        responses={
            (200, "application/xml"): OpenApiResponse(OpenApiTypes.STR, description="DZI XML")
        }
    )
    def get(self, request, pk: int):
        access.require_slide_visible(request.user, pk)
        source = deepzoom.tile_source(pk)
        return HttpResponse(deepzoom.descriptor_xml(source), content_type="application/xml")


class DziTileApi(APIView):
    @extend_schema(responses={(200, "image/jpeg"): JPEG_RESPONSE, 304: None})
    def get(self, request, pk: int, level: int, col: int, row: int):
        access.require_slide_visible(request.user, pk)
        source = deepzoom.tile_source(pk)
        etag = deepzoom.tile_etag(source, level, col, row)
        if _not_modified(request, etag):
            return HttpResponse(status=status.HTTP_304_NOT_MODIFIED)
        return _jpeg(deepzoom.tile_jpeg(source, level, col, row), etag)


class SlideRootViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    permission_classes = [ReadOrAdmin]
    serializer_class = serializers.SlideRootSerializer
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema: no user, no query
            return selectors.root_list()
        hidden = access.hidden_root_ids(self.request.user)
        return selectors.root_list().exclude(pk__in=hidden)

    def get_serializer_context(self):
        context = super().get_serializer_context()
        context["scans"] = getattr(self, "_scans", {})
        return context

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        # One query for the last scans of the whole page, not one per root.
        self._scans = selectors.scans_by_id(r.last_scan_id for r in page or [])
        return page

    def retrieve(self, request, *args, **kwargs):
        root = self.get_object()
        self._scans = selectors.scans_by_id([root.last_scan_id])
        return Response(self.get_serializer(root).data)

    @extend_schema(
        request=serializers.SlideRootCreateSerializer,
        responses={201: serializers.SlideRootSerializer},
    )
    def create(self, request):
        data = serializers.SlideRootCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        root = roots.root_create(**data.validated_data, created_by=request.user)
        root = selectors.root_list().get(pk=root.pk)
        return Response(self.get_serializer(root).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=serializers.SlideRootAccessSerializer, responses=serializers.SlideRootSerializer
    )
    def partial_update(self, request, pk=None):
        """Restrict the root (only admins and `allowed_users` see its slides) or open it."""
        data = serializers.SlideRootAccessSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        root = roots.root_access_set(
            actor=request.user, root=self.get_object(), **data.validated_data
        )
        return self.retrieve(request, pk=root.pk)

    @extend_schema(request=None, responses={202: serializers.ScanSerializer})
    @action(detail=True, methods=["post"], permission_classes=[IsAdmin])
    def scan(self, request, pk=None):
        """Start a scan of this root (a Celery task on the `io` queue)."""
        root = self.get_object()
        scan = registration.scan_start(root=root, user=request.user, enqueue=enqueue_scan)
        return Response(serializers.ScanSerializer(scan).data, status=status.HTTP_202_ACCEPTED)


class ScanViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = serializers.ScanSerializer
    filterset_class = ScanFilter
    queryset = ScanJob.objects.order_by("-created_at")
    ordering_fields = ["created_at"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema: no user, no query
            return super().get_queryset()
        hidden = access.hidden_root_ids(self.request.user)
        return super().get_queryset().exclude(root_id__in=hidden)
