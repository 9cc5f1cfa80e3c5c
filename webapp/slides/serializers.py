from django.urls import reverse
from rest_framework import serializers

from webapp.slides.models import ScanJob, Slide, SlideRoot


class ScanSerializer(serializers.ModelSerializer):
    class Meta:
        model = ScanJob
        fields = [
            "id",
            "root",
            "status",
            "total",
            "processed",
            "registered",
            "unchanged",
            "moved",
            "failed",
            "missing",
            "message",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields


class SlideRootSerializer(serializers.ModelSerializer):
    slide_count = serializers.IntegerField(read_only=True)
    last_scan = serializers.SerializerMethodField()
    allowed_users = serializers.SerializerMethodField(
        help_text="The users who may see a restricted root's slides (shown to admins only)."
    )

    class Meta:
        model = SlideRoot
        fields = [
            "id",
            "name",
            "path",
            "slide_count",
            "created_at",
            "last_scan",
            "restricted",
            "allowed_users",
        ]
        read_only_fields = fields

    def get_allowed_users(self, root) -> list[int]:
        request = self.context.get("request")
        user = getattr(request, "user", None)
        if not (user and user.is_authenticated and user.role == "admin"):
            return []
        return sorted(u.pk for u in root.allowed_users.all())

    def get_last_scan(self, root) -> ScanSerializer(allow_null=True):
        scans = self.context.get("scans", {})
        scan = scans.get(getattr(root, "last_scan_id", None))
        return ScanSerializer(scan).data if scan else None


class SlideRootCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    path = serializers.CharField(max_length=1024)


class SlideRootAccessSerializer(serializers.Serializer):
    restricted = serializers.BooleanField(required=False)
    allowed_users = serializers.ListField(
        child=serializers.IntegerField(min_value=1), required=False, max_length=10_000
    )


class SlideTagBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    term = serializers.IntegerField(source="term_id")
    term_name = serializers.CharField(source="term.name")
    category_key = serializers.CharField(source="term.category.key")
    source = serializers.CharField()
    created_by = serializers.IntegerField(source="created_by_id", allow_null=True)
    created_at = serializers.DateTimeField()


class SlideListSerializer(serializers.ModelSerializer):
    root_name = serializers.CharField(source="root.name", read_only=True)
    thumbnail_url = serializers.SerializerMethodField()
    tags = SlideTagBriefSerializer(many=True, read_only=True)

    class Meta:
        model = Slide
        fields = [
            "id",
            "name",
            "root",
            "root_name",
            "relative_path",
            "status",
            "failure_reason",
            "vendor",
            "width",
            "height",
            "level_count",
            "mpp_x",
            "mpp_y",
            "objective_power",
            "size_bytes",
            "thumbnail_url",
            "review_status",
            "review_reason",
            "tags",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_thumbnail_url(self, slide) -> str | None:
        if slide.status != "registered":
            return None
        return reverse("slide-thumbnail", args=[slide.pk])


class AssociatedImageSerializer(serializers.Serializer):
    name = serializers.CharField()
    url = serializers.CharField()


class SlideDetailSerializer(SlideListSerializer):
    associated_images = serializers.SerializerMethodField()
    dzi_url = serializers.SerializerMethodField()

    class Meta(SlideListSerializer.Meta):
        fields = [
            *SlideListSerializer.Meta.fields,
            "fingerprint",
            "level_dimensions",
            "level_downsamples",
            "properties",
            "associated_images",
            "dzi_url",
            "last_seen_at",
        ]
        read_only_fields = fields

    def get_associated_images(self, slide) -> AssociatedImageSerializer(many=True):
        return [
            {"name": name, "url": reverse("slide-associated", args=[slide.pk, name])}
            for name in slide.associated_images
        ]

    def get_dzi_url(self, slide) -> str | None:
        if slide.status != "registered":
            return None
        return reverse("slide-dzi-json", args=[slide.pk])


class FacetValueSerializer(serializers.Serializer):
    value = serializers.CharField()
    count = serializers.IntegerField()


class SlideFacetsSerializer(serializers.Serializer):
    status = FacetValueSerializer(many=True)
    vendor = FacetValueSerializer(many=True)
