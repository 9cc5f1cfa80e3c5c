from rest_framework import serializers

from webapp.datasets.models import DatasetVersion
from webapp.training.models import TrainingRun
from webapp.training.services.runs import CANCELLABLE, RESUMABLE


class PresetSerializer(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField()
    recipe = serializers.DictField()


class VersionRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = DatasetVersion
        fields = ["id", "name", "row_count", "checksum"]
        read_only_fields = fields


class BackboneRefSerializer(serializers.Serializer):
    available = serializers.BooleanField()
    url = serializers.CharField()
    card_url = serializers.CharField()


class TrainingRunSerializer(serializers.ModelSerializer):
    dataset_version = VersionRefSerializer(read_only=True)
    created_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    progress = serializers.SerializerMethodField()
    backbone = serializers.SerializerMethodField()
    can_cancel = serializers.SerializerMethodField()
    can_resume = serializers.SerializerMethodField()

    class Meta:
        model = TrainingRun
        fields = [
            "id",
            "name",
            "status",
            "dataset_version",
            "preset",
            "model",
            "recipe",
            "step",
            "total_steps",
            "progress",
            "eta_s",
            "images_per_s",
            "gpu_mem_mb",
            "device",
            "world_size",
            "last_metrics",
            "latest_eval",
            "checkpoint_step",
            "backbone",
            "cancel_requested",
            "message",
            "error",
            "created_by",
            "created_at",
            "started_at",
            "finished_at",
            "heartbeat_at",
            "can_cancel",
            "can_resume",
        ]
        read_only_fields = fields

    def get_progress(self, run) -> float:
        return min(1.0, run.step / run.total_steps) if run.total_steps else 0.0

    def get_backbone(self, run) -> BackboneRefSerializer:
        url = f"/api/training/runs/{run.pk}/backbone/"
        return {"available": bool(run.backbone_path), "url": url, "card_url": f"{url}card/"}

    def get_can_cancel(self, run) -> bool:
        return run.status in CANCELLABLE and not run.cancel_requested

    def get_can_resume(self, run) -> bool:
        return run.status in RESUMABLE


class TrainingRunCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    dataset_version = serializers.PrimaryKeyRelatedField(queryset=DatasetVersion.objects.all())
    preset = serializers.CharField(max_length=50)
    model = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    weights = serializers.CharField(
        max_length=1000, required=False, allow_blank=True, allow_null=True, default=None
    )
    overrides = serializers.DictField(required=False, default=dict)
    eval_folder = serializers.CharField(
        max_length=1000, required=False, allow_blank=True, allow_null=True, default=""
    )


class MetricsQuerySerializer(serializers.Serializer):
    max_points = serializers.IntegerField(min_value=2, max_value=5000, default=500)


class StepSeriesSerializer(serializers.Serializer):
    step = serializers.ListField(child=serializers.IntegerField())
    loss = serializers.ListField(child=serializers.FloatField(allow_null=True))
    dino = serializers.ListField(child=serializers.FloatField(allow_null=True))
    ibot = serializers.ListField(child=serializers.FloatField(allow_null=True))
    koleo = serializers.ListField(child=serializers.FloatField(allow_null=True))
    lr = serializers.ListField(child=serializers.FloatField(allow_null=True))
    wd = serializers.ListField(child=serializers.FloatField(allow_null=True))
    images_per_s = serializers.ListField(child=serializers.FloatField(allow_null=True))
    gpu_mem_mb = serializers.ListField(child=serializers.FloatField(allow_null=True))


class MetricsSerializer(serializers.Serializer):
    steps = StepSeriesSerializer()
    eval = serializers.ListField(child=serializers.DictField())
