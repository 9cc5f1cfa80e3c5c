from rest_framework import serializers

from webapp.tiling.models import SlideTiling, TilingConfig, TilingRun


class TilingConfigSerializer(serializers.ModelSerializer):
    params = serializers.JSONField(
        help_text="tile_size, target_mpp, stride, min_tissue_fraction, features, tissue{…}; "
        "missing ones take the defaults (256 px at 0.5 µm/px, tissue fraction ≥ 0.5)."
    )

    class Meta:
        model = TilingConfig
        fields = ["id", "name", "description", "params", "key", "created_at"]
        read_only_fields = ["id", "key", "created_at"]


class TilingRunSerializer(serializers.ModelSerializer):
    config_name = serializers.CharField(source="config.name", read_only=True)

    class Meta:
        model = TilingRun
        fields = [
            "id",
            "config",
            "config_name",
            "status",
            "selection",
            "total",
            "done",
            "failed",
            "skipped",
            "tile_count",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields


class TilingRunCreateSerializer(serializers.Serializer):
    config = serializers.PrimaryKeyRelatedField(queryset=TilingConfig.objects.all())
    slides = serializers.ListField(
        child=serializers.IntegerField(min_value=1), required=False, max_length=200_000
    )
    group = serializers.IntegerField(required=False, min_value=1)
    untiled = serializers.BooleanField(default=False)


class SlideTilingSerializer(serializers.ModelSerializer):
    slide_name = serializers.CharField(source="slide.name", read_only=True)
    config_name = serializers.CharField(source="config.name", read_only=True)
    mask_url = serializers.SerializerMethodField()

    class Meta:
        model = SlideTiling
        fields = [
            "id",
            "slide",
            "slide_name",
            "config",
            "config_name",
            "run",
            "status",
            "error",
            "tile_count",
            "tissue_area_mm2",
            "tiles_done",
            "tiles_total",
            "seconds",
            "mask_url",
            "updated_at",
            "finished_at",
        ]
        read_only_fields = fields

    def get_mask_url(self, tiling) -> str | None:
        return f"/api/slide-tilings/{tiling.pk}/mask.png" if tiling.status == "done" else None


class MppOverrideSerializer(serializers.Serializer):
    mpp = serializers.FloatField(min_value=0.01, max_value=100, allow_null=True)


class GridSerializer(serializers.Serializer):
    size = serializers.FloatField(help_text="Tile side in level-0 pixels.")
    mpp = serializers.FloatField()
    x = serializers.ListField(child=serializers.IntegerField())
    y = serializers.ListField(child=serializers.IntegerField())
    tissue_fraction = serializers.ListField(child=serializers.FloatField())


class GalleryTileSerializer(serializers.Serializer):
    slide = serializers.IntegerField()
    tiling = serializers.IntegerField()
    index = serializers.IntegerField()
    x = serializers.IntegerField()
    y = serializers.IntegerField()
    url = serializers.CharField()
