from rest_framework import serializers

from webapp.clusters.models import (
    Cluster,
    ClusterRun,
    ClusterStatus,
    ClusterVote,
    FeatureKind,
    RejectReason,
    SemanticCategory,
)
from webapp.clusters.services.review import MAX_NOTE
from webapp.clusters.services.runs import MAX_PER_SLIDE
from webapp.tiling.models import TilingConfig


class SemanticCategorySerializer(serializers.ModelSerializer):
    cluster_count = serializers.IntegerField(read_only=True, default=0)
    # The service validates (clear messages for clashes); the model's unique checks are
    # left to it and to the database.
    name = serializers.CharField(max_length=100)
    shortcut = serializers.CharField(max_length=1, allow_blank=True, required=False)

    class Meta:
        model = SemanticCategory
        fields = [
            "id",
            "name",
            "colour",
            "default_weight",
            "shortcut",
            "description",
            "position",
            "cluster_count",
        ]
        read_only_fields = ["id", "cluster_count"]
        extra_kwargs = {"position": {"required": False}}
        validators = []


class ReviewCountsSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    reviewed = serializers.IntegerField()
    accepted = serializers.IntegerField()
    rejected = serializers.IntegerField()
    merged = serializers.IntegerField()
    disagreements = serializers.IntegerField()


EMPTY_COUNTS = dict.fromkeys(ReviewCountsSerializer._declared_fields, 0)


class ClusterRunSerializer(serializers.ModelSerializer):
    """A run; `review` comes from the view's context ({run id: counts}, computed per page)."""

    config_name = serializers.CharField(source="config.name", read_only=True)
    # null: not locked / made outside the API or by a user since deleted
    locked_by = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    created_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    review = serializers.SerializerMethodField()
    failed_slides = serializers.SerializerMethodField()

    class Meta:
        model = ClusterRun
        fields = [
            "id",
            "name",
            "config",
            "config_name",
            "feature_kind",
            "embedding_model",
            "params",
            "selection",
            "status",
            "phase",
            "progress_done",
            "progress_total",
            "message",
            "error",
            "device",
            "slide_count",
            "tile_count",
            "inertia",
            "skipped_slides",
            "failed_slides",
            "locked",
            "locked_by",
            "locked_at",
            "review",
            "created_by",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields

    def get_review(self, run) -> ReviewCountsSerializer:
        return self.context.get("review", {}).get(run.pk, EMPTY_COUNTS)

    def get_failed_slides(self, run) -> list[dict]:
        rows = [{"slide": sid, "reason": reason} for sid, reason in run.failed_slides]
        request = self.context.get("request")
        if rows and request is not None:  # not the slides of roots hidden from the user
            from webapp.slides import access

            rows = access.without_hidden(request.user, rows)
        return rows


class EmbeddingModelSerializer(serializers.Serializer):
    """A timm model (`name`, optional `weights`, `image_size`), or the exported backbone of a
    training run (`training_run`: its id), which the service resolves to the same."""

    name = serializers.CharField(max_length=200, required=False)
    weights = serializers.CharField(max_length=1000, required=False, allow_null=True)
    image_size = serializers.IntegerField(required=False, allow_null=True, min_value=8)
    batch_size = serializers.IntegerField(required=False, min_value=1, max_value=4096)
    training_run = serializers.IntegerField(required=False, min_value=1)

    def validate(self, attrs):
        if "training_run" in attrs:
            extra = sorted(set(attrs) - {"training_run", "batch_size"})
            if extra:
                raise serializers.ValidationError(
                    f"With training_run, give only batch_size besides it (not {', '.join(extra)})."
                )
        elif "name" not in attrs:
            raise serializers.ValidationError("Give a timm model name or a training_run id.")
        return attrs


class ClusterRunCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    config = serializers.PrimaryKeyRelatedField(queryset=TilingConfig.objects.all())
    feature_kind = serializers.ChoiceField(choices=FeatureKind.choices, default="colour")
    embedding_model = EmbeddingModelSerializer(required=False, allow_null=True, default=None)
    k = serializers.IntegerField(min_value=2, max_value=100_000, default=100)
    per_slide = serializers.IntegerField(min_value=1, max_value=MAX_PER_SLIDE, default=500)
    iterations = serializers.IntegerField(min_value=1, max_value=1000, default=25)
    restarts = serializers.IntegerField(min_value=1, max_value=100, default=1)
    spherical = serializers.BooleanField(default=False)
    method = serializers.ChoiceField(choices=["flat", "hierarchical"], default="flat")
    levels = serializers.ListField(
        child=serializers.IntegerField(min_value=2), max_length=8, default=list
    )
    seed = serializers.IntegerField(min_value=0, max_value=2**31 - 1, default=0)
    slides = serializers.ListField(
        child=serializers.IntegerField(min_value=1), max_length=200_000, default=list
    )
    group = serializers.IntegerField(min_value=1, required=False, allow_null=True, default=None)


class ClusterSerializer(serializers.ModelSerializer):
    category_name = serializers.CharField(
        source="category.name", read_only=True, default=None, allow_null=True
    )
    category_colour = serializers.CharField(
        source="category.colour", read_only=True, default=None, allow_null=True
    )
    reviewed_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    settled_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    montage_url = serializers.SerializerMethodField()

    class Meta:
        model = Cluster
        fields = [
            "id",
            "run",
            "index",
            "size",
            "share",
            "slide_count",
            "status",
            "category",
            "category_name",
            "category_colour",
            "reject_reason",
            "weight",
            "note",
            "merged_into",
            "version",
            "reviewed_by",
            "reviewed_at",
            "settled_by",
            "settled_at",
            "map_x",
            "map_y",
            "quality",
            "montage_url",
        ]
        read_only_fields = fields

    def get_montage_url(self, cluster) -> str:
        return f"/api/clusters/{cluster.pk}/montage.jpg?kind=representative"


class TileRefSerializer(serializers.Serializer):
    slide = serializers.IntegerField()
    slide_name = serializers.CharField()
    tiling = serializers.IntegerField()
    index = serializers.IntegerField()
    x = serializers.IntegerField()
    y = serializers.IntegerField()
    size = serializers.FloatField(allow_null=True)
    distance = serializers.FloatField(allow_null=True)
    url = serializers.CharField()


class ExemplarsSerializer(serializers.Serializer):
    representative = TileRefSerializer(many=True)
    boundary = TileRefSerializer(many=True)
    random = TileRefSerializer(many=True)


class ClusterDetailSerializer(ClusterSerializer):
    """Adds exemplars (TileRefs by kind, from the view's context) and the composition."""

    exemplars = serializers.SerializerMethodField()

    class Meta(ClusterSerializer.Meta):
        fields = [*ClusterSerializer.Meta.fields, "exemplars", "composition"]
        read_only_fields = fields

    def get_exemplars(self, cluster) -> ExemplarsSerializer:
        return self.context["exemplars"]


class DecisionSerializer(serializers.Serializer):
    version = serializers.IntegerField(min_value=1)
    status = serializers.ChoiceField(
        choices=[ClusterStatus.UNREVIEWED, ClusterStatus.ACCEPTED, ClusterStatus.REJECTED]
    )
    category = serializers.PrimaryKeyRelatedField(
        queryset=SemanticCategory.objects.all(), required=False, allow_null=True, default=None
    )
    reject_reason = serializers.ChoiceField(
        choices=RejectReason.choices, required=False, allow_blank=True, default=""
    )
    weight = serializers.FloatField(required=False, allow_null=True, default=None, min_value=0)
    note = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=MAX_NOTE, trim_whitespace=False
    )


class StaleSerializer(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField()
    current = ClusterSerializer()


class MergeSerializer(serializers.Serializer):
    target = serializers.IntegerField(min_value=1)
    clusters = serializers.ListField(
        child=serializers.IntegerField(min_value=1), allow_empty=False, max_length=10_000
    )


class VoteSerializer(serializers.ModelSerializer):
    user = serializers.CharField(source="user.username", read_only=True)
    category_name = serializers.CharField(
        source="category.name", read_only=True, default=None, allow_null=True
    )

    class Meta:
        model = ClusterVote
        fields = [
            "user",
            "status",
            "category",
            "category_name",
            "reject_reason",
            "weight",
            "note",
            "updated_at",
        ]
        read_only_fields = fields


class DisagreementSerializer(serializers.Serializer):
    cluster = ClusterSerializer()
    votes = VoteSerializer(many=True)


class MapCentroidSerializer(serializers.Serializer):
    cluster = serializers.IntegerField()
    index = serializers.IntegerField()
    x = serializers.FloatField()
    y = serializers.FloatField()
    size = serializers.IntegerField()
    category_colour = serializers.CharField(allow_null=True)
    status = serializers.CharField()


class MapTileSerializer(serializers.Serializer):
    cluster_index = serializers.IntegerField()
    x = serializers.FloatField()
    y = serializers.FloatField()


class MapSerializer(serializers.Serializer):
    method = serializers.CharField()
    centroids = MapCentroidSerializer(many=True)
    tiles = MapTileSerializer(many=True)


class SimilarQuerySerializer(serializers.Serializer):
    slide = serializers.IntegerField(min_value=1)
    index = serializers.IntegerField(min_value=0)
    k = serializers.IntegerField(min_value=1, max_value=100, default=24)


class SimilarTileSerializer(TileRefSerializer):
    cluster_index = serializers.IntegerField(allow_null=True)


class SimilarSerializer(serializers.Serializer):
    results = SimilarTileSerializer(many=True)


class LabelClusterSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    category = serializers.IntegerField(allow_null=True)
    colour = serializers.CharField(allow_null=True)
    status = serializers.CharField()
    merged_into = serializers.IntegerField(allow_null=True)


class LabelsSerializer(serializers.Serializer):
    size = serializers.FloatField()
    x = serializers.ListField(child=serializers.IntegerField())
    y = serializers.ListField(child=serializers.IntegerField())
    cluster_index = serializers.ListField(child=serializers.IntegerField())
    clusters = serializers.DictField(child=LabelClusterSerializer())
