from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from webapp.clusters.models import ClusterRun
from webapp.datasets.models import DatasetVersion, ExportJob, VersionStatus
from webapp.datasets.services import exports
from webapp.datasets.services.builds import FILES
from webapp.slides import access


class DatasetVersionSerializer(serializers.ModelSerializer):
    cluster_run_name = serializers.CharField(source="cluster_run.name", read_only=True)
    # Null for versions made outside the API (or whose user is gone) and before a build.
    created_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    built_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    manifest = serializers.SerializerMethodField()

    class Meta:
        model = DatasetVersion
        fields = [
            "id",
            "name",
            "status",
            "cluster_run",
            "cluster_run_name",
            "recipe",
            "inputs",
            "parent",
            "checksum",
            "row_count",
            "progress_done",
            "progress_total",
            "message",
            "error",
            "shortfall",
            "created_by",
            "created_at",
            "built_by",
            "built_at",
            "manifest",
        ]
        read_only_fields = fields

    @extend_schema_field(
        {
            "type": "object",
            "nullable": True,
            "properties": {k: {"type": "string"} for k in FILES},
        }
    )
    def get_manifest(self, version) -> dict | None:
        if version.status != VersionStatus.BUILT:
            return None
        return {fmt: f"/api/datasets/{version.pk}/manifest.{fmt}" for fmt in FILES}


class DatasetVersionCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    cluster_run = serializers.PrimaryKeyRelatedField(queryset=ClusterRun.objects.all())
    recipe = serializers.JSONField(required=False, help_text="See docs/datasets.md (Recipe).")


class DatasetVersionUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    cluster_run = serializers.PrimaryKeyRelatedField(
        queryset=ClusterRun.objects.all(), required=False
    )
    recipe = serializers.JSONField(required=False)


class CloneSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)


class PreviewRequestSerializer(serializers.Serializer):
    recipe = serializers.JSONField(required=False, help_text="Default: the stored recipe.")


class PreviewCellSerializer(serializers.Serializer):
    group = serializers.CharField()
    category = serializers.CharField()
    eligible = serializers.IntegerField()
    estimated = serializers.IntegerField()


class PreviewSerializer(serializers.Serializer):
    estimated_total = serializers.IntegerField()
    eligible_total = serializers.IntegerField()
    shortfall = serializers.IntegerField()
    unreviewed_clusters = serializers.IntegerField()
    cells = PreviewCellSerializer(many=True)
    notes = serializers.ListField(child=serializers.CharField())


class DiffCellSerializer(serializers.Serializer):
    group = serializers.CharField()
    category = serializers.CharField()
    a = serializers.IntegerField()
    b = serializers.IntegerField()


class DiffSerializer(serializers.Serializer):
    tiles_added = serializers.IntegerField()
    tiles_removed = serializers.IntegerField()
    tiles_kept = serializers.IntegerField()
    slides_added = serializers.ListField(child=serializers.IntegerField())
    slides_removed = serializers.ListField(child=serializers.IntegerField())
    cells = DiffCellSerializer(many=True)


class DiffQuerySerializer(serializers.Serializer):
    other = serializers.IntegerField(help_text="The id of the other built version.")


class ExportCreateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["webdataset"], default="webdataset")
    shard_size = serializers.IntegerField(
        min_value=1, max_value=exports.MAX_SHARD_SIZE, default=1000
    )
    jpeg_quality = serializers.IntegerField(min_value=1, max_value=100, default=90)


class ShardSerializer(serializers.Serializer):
    name = serializers.CharField()
    size = serializers.IntegerField()
    url = serializers.CharField()


class ExportJobSerializer(serializers.ModelSerializer):
    dataset = serializers.IntegerField(source="version_id", read_only=True)
    shards = serializers.SerializerMethodField()
    report = serializers.SerializerMethodField()

    class Meta:
        model = ExportJob
        fields = [
            "id",
            "dataset",
            "kind",
            "status",
            "shard_size",
            "progress_done",
            "progress_total",
            "shards",
            "report",
            "message",
            "error",
            "created_at",
            "finished_at",
        ]
        read_only_fields = fields

    @extend_schema_field(ShardSerializer(many=True))
    def get_shards(self, job) -> list[dict]:
        return exports.shards(job)

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_report(self, job) -> dict:
        """The report less the `missing_slides` entries of slides hidden from the requester
        (no request in the context: as for anonymous, every restricted root's)."""
        report = job.report
        if not isinstance(report, dict) or not report.get("missing_slides"):
            return report
        request = self.context.get("request")
        user = getattr(request, "user", None)
        return {**report, "missing_slides": access.without_hidden(user, report["missing_slides"])}


StatsSchema = OpenApiTypes.OBJECT
