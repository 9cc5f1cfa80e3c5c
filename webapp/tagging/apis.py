from django.db import transaction
from django.db.models import Prefetch
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from webapp.accounts.permissions import IsActiveUser, IsAdmin, IsCurator, ReadOrAdmin, ReadOrCurator
from webapp.slides import access
from webapp.slides.filters import SlideFilter
from webapp.slides.models import Slide
from webapp.slides.serializers import SlideListSerializer
from webapp.tagging import serializers as s
from webapp.tagging.filters import TermFilter
from webapp.tagging.models import Category, GroupSnapshot, SlideGroup, SlideTag, TagRule, Term
from webapp.tagging.services import csv_io, groups, rules, tags, vocabulary
from webapp.tagging.services.suggestions import slide_suggestions


class CategoryViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """The vocabulary's categories with their terms (a small list: not paginated)."""

    permission_classes = [ReadOrAdmin]
    serializer_class = s.CategorySerializer
    pagination_class = None
    filter_backends = []
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return Category.objects.prefetch_related(
            Prefetch("terms", queryset=Term.objects.select_related("category").order_by("name"))
        )

    def perform_create(self, serializer):
        serializer.instance = vocabulary.category_create(
            actor=self.request.user, **serializer.validated_data
        )

    @extend_schema(request=s.CategoryUpdateSerializer, responses=s.CategorySerializer)
    def partial_update(self, request, pk=None):
        data = s.CategoryUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        category = vocabulary.category_update(
            actor=request.user, category=self.get_object(), **data.validated_data
        )
        return Response(s.CategorySerializer(self.get_queryset().get(pk=category.pk)).data)


class TermViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    permission_classes = [ReadOrAdmin]
    serializer_class = s.TermSerializer
    filterset_class = TermFilter
    queryset = Term.objects.select_related("category").order_by("category__order", "name")
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = vocabulary.term_create(
            actor=self.request.user,
            category=data["category"],
            name=data["name"],
            code=data.get("code", ""),
            synonyms=data.get("synonyms", []),
        )

    @extend_schema(request=s.TermUpdateSerializer, responses=s.TermSerializer)
    def partial_update(self, request, pk=None):
        data = s.TermUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        term = vocabulary.term_update(
            actor=request.user, term=self.get_object(), **data.validated_data
        )
        return Response(s.TermSerializer(term).data)

    def perform_destroy(self, instance):
        vocabulary.term_delete(actor=self.request.user, term=instance)


def _slide(request, pk: int) -> Slide:
    return access.visible_slide_or_404(request.user, pk)


class SlideTagsApi(APIView):
    permission_classes = [ReadOrCurator]

    @extend_schema(responses=s.SlideTagSerializer(many=True))
    def get(self, request, pk: int):
        slide_tags = SlideTag.objects.filter(slide=_slide(request, pk)).select_related(
            "term__category"
        )
        return Response(s.SlideTagSerializer(slide_tags, many=True).data)

    @extend_schema(request=s.TagAddSerializer, responses={201: s.SlideTagSerializer})
    def post(self, request, pk: int):
        data = s.TagAddSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        term = data.validated_data["term"]
        # One transaction: the slide's row lock (taken by tags_change) is held until the tag
        # is read back, so a concurrent removal cannot slip in between (it would be a 500).
        with transaction.atomic():
            tags.tags_change(
                actor=request.user,
                slide_ids=[_slide(request, pk).pk],
                add=[term],
                source=data.validated_data["source"],
            )
            tag = SlideTag.objects.select_related("term__category").get(slide_id=pk, term=term)
        return Response(s.SlideTagSerializer(tag).data, status=status.HTTP_201_CREATED)


class SlideTagDetailApi(APIView):
    permission_classes = [IsCurator]

    @extend_schema(responses={204: None})
    def delete(self, request, pk: int, term_id: int):
        tag = get_object_or_404(
            SlideTag.objects.select_related("term__category"),
            slide_id=_slide(request, pk).pk,
            term_id=term_id,
        )
        tags.tags_change(actor=request.user, slide_ids=[pk], remove=[tag.term])
        return Response(status=status.HTTP_204_NO_CONTENT)


class SuggestionsApi(APIView):
    @extend_schema(responses=s.SuggestionSerializer(many=True))
    def get(self, request, pk: int):
        return Response(
            s.SuggestionSerializer(slide_suggestions(_slide(request, pk)), many=True).data
        )


class BulkTagApi(APIView):
    """Add and remove terms on up to 10,000 slides in one transaction."""

    permission_classes = [IsCurator]

    @extend_schema(request=s.BulkTagSerializer, responses=s.BulkTagResultSerializer)
    def post(self, request):
        data = s.BulkTagSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        access.require_known_ids(request.user, data.validated_data["slides"])
        result = tags.tags_change(
            actor=request.user,
            slide_ids=data.validated_data["slides"],
            add=data.validated_data.get("add", []),
            remove=data.validated_data.get("remove", []),
        )
        return Response(result)


class ReviewApi(APIView):
    permission_classes = [IsCurator]

    @extend_schema(request=s.ReviewSerializer, responses=s.ReviewResultSerializer)
    def post(self, request):
        data = s.ReviewSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        access.require_known_ids(request.user, data.validated_data["slides"])
        changed = tags.review_set(
            actor=request.user,
            slide_ids=data.validated_data["slides"],
            status=data.validated_data["status"],
            reason=data.validated_data["reason"],
        )
        return Response({"slides": len(set(data.validated_data["slides"])), "changed": changed})


class TagRuleViewSet(viewsets.ModelViewSet):
    permission_classes = [ReadOrAdmin]
    serializer_class = s.TagRuleSerializer
    queryset = TagRule.objects.select_related("term__category").order_by("name")
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def perform_create(self, serializer):
        serializer.instance = rules.rule_save(
            actor=self.request.user, rule=TagRule(**serializer.validated_data)
        )

    def perform_update(self, serializer):
        rule = serializer.instance
        for field, value in serializer.validated_data.items():
            setattr(rule, field, value)
        serializer.instance = rules.rule_save(actor=self.request.user, rule=rule)

    @extend_schema(responses=SlideListSerializer(many=True))
    @action(detail=True, methods=["get"])
    def preview(self, request, pk=None):
        """The slides the rule matches (paginated), each with `has_term`."""
        matches = access.visible_slides(request.user, rules.rule_matches(self.get_object()))
        matches = matches.select_related("root").order_by("pk")
        page = self.paginate_queryset(matches)
        data = SlideListSerializer(page, many=True, context={"request": request}).data
        for row, slide in zip(data, page, strict=True):
            row["has_term"] = slide.has_term
        return self.get_paginated_response(data)

    @extend_schema(request=None, responses=s.RuleApplyResultSerializer)
    @action(detail=True, methods=["post"], permission_classes=[IsAdmin])
    def apply(self, request, pk=None):
        return Response(rules.rule_apply(actor=request.user, rule=self.get_object()))


class SlideGroupViewSet(viewsets.ModelViewSet):
    permission_classes = [ReadOrCurator]
    serializer_class = s.SlideGroupSerializer
    queryset = SlideGroup.objects.order_by("name")
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    filterset_fields = ["kind"]

    def _with_counts(self, page: list[SlideGroup]) -> list[dict]:
        counts = groups.group_counts(page, slides=access.visible_slides(self.request.user))
        data = s.SlideGroupSerializer(page, many=True).data
        for row in data:
            row["slide_count"] = counts.get(row["id"])
        return data

    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(self._with_counts(page))

    def retrieve(self, request, pk=None):
        return Response(self._with_counts([self.get_object()])[0])

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        self.perform_create(serializer)
        return Response(self._with_counts([serializer.instance])[0], status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        serializer = self.get_serializer(
            self.get_object(), data=request.data, partial=kwargs.pop("partial", False)
        )
        serializer.is_valid(raise_exception=True)
        self.perform_update(serializer)
        return Response(self._with_counts([serializer.instance])[0])

    def perform_create(self, serializer):
        serializer.instance = groups.group_create(
            actor=self.request.user, **serializer.validated_data
        )

    def perform_update(self, serializer):
        serializer.instance = groups.group_update(
            actor=self.request.user, group=serializer.instance, **serializer.validated_data
        )

    def perform_destroy(self, instance):
        groups.group_delete(actor=self.request.user, group=instance)

    @extend_schema(request=s.RulePreviewSerializer, responses=s.RulePreviewResultSerializer)
    @action(detail=False, methods=["post"], permission_classes=[IsActiveUser])
    def preview(self, request):
        """How many slides a rule selects (a live count while someone types; a read, so
        viewers may ask too)."""
        data = s.RulePreviewSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        condition = groups.rule_condition(data.validated_data["rule"])
        visible = access.visible_slides(request.user)
        return Response({"slide_count": visible.filter(condition).count()})

    @extend_schema(responses=s.GroupSummarySerializer)
    @action(detail=False, methods=["get"], pagination_class=None)
    def summary(self, request):
        return Response(
            groups.groups_summary(
                list(SlideGroup.objects.order_by("name")),
                slides=access.visible_slides(request.user),
            )
        )

    @extend_schema(request=s.MembersSerializer, responses=s.MembersResultSerializer)
    @action(detail=True, methods=["post"], permission_classes=[IsCurator])
    def members(self, request, pk=None):
        data = s.MembersSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        access.require_known_ids(
            request.user, [*data.validated_data["add"], *data.validated_data["remove"]]
        )
        return Response(
            groups.group_members_change(
                actor=request.user, group=self.get_object(), **data.validated_data
            )
        )

    @extend_schema(request=None, responses={201: s.SnapshotSerializer})
    @action(detail=True, methods=["post"], permission_classes=[IsCurator])
    def freeze(self, request, pk=None):
        snapshot = groups.group_freeze(actor=request.user, group=self.get_object())
        return Response(s.SnapshotSerializer(snapshot).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=s.SnapshotSerializer(many=True))
    @action(detail=True, methods=["get"])
    def snapshots(self, request, pk=None):
        page = self.paginate_queryset(
            GroupSnapshot.objects.filter(group=self.get_object()).order_by("-created_at")
        )
        return self.get_paginated_response(s.SnapshotSerializer(page, many=True).data)


class ExportCsvApi(APIView):
    """The slides (with the list's filters) and their terms as CSV, streamed."""

    @extend_schema(
        responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="CSV")}
    )
    def get(self, request):
        filterset = SlideFilter(
            request.query_params, queryset=access.visible_slides(request.user), request=request
        )
        if not filterset.is_valid():
            raise ValidationError(filterset.errors)
        response = StreamingHttpResponse(
            csv_io.export_rows(filterset.qs), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = 'attachment; filename="slides.csv"'
        return response


class ImportCsvApi(APIView):
    permission_classes = [IsCurator]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request={"multipart/form-data": s.ImportSerializer},
        responses={
            200: s.ImportResultSerializer,
            400: s.ImportRejectedSerializer,
            413: s.ImportRejectedSerializer,
        },
    )
    def post(self, request):
        data = s.ImportSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        if upload.size > 50 * 1024 * 1024:
            return Response(
                {"detail": "The file is larger than 50 MB.", "code": "too_large"},
                status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            )
        report = csv_io.import_csv(
            actor=request.user,
            data=upload.read(),
            apply_valid=data.validated_data["apply_valid"],
            slides=access.visible_slides(request.user),
        )
        body = {"applied_rows": report.applied_rows, "errors": report.errors}
        if report.errors and not data.validated_data["apply_valid"]:
            first = report.errors[0]
            body = {
                **body,
                "code": "invalid_rows",
                "detail": f"{len(report.errors)} problems, nothing applied; first: row "
                f"{first['row']}, {first['column']}: {first['message']}",
            }
            return Response(body, status=status.HTTP_400_BAD_REQUEST)
        return Response(body)
