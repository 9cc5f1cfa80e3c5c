from rest_framework import serializers

from webapp.tagging.models import (
    Category,
    GroupKind,
    GroupSnapshot,
    RuleField,
    SlideGroup,
    SlideTag,
    TagRule,
    Term,
)

MAX_IDS = 10_000


class TermSerializer(serializers.ModelSerializer):
    category_key = serializers.CharField(source="category.key", read_only=True)

    class Meta:
        model = Term
        fields = ["id", "category", "category_key", "name", "code", "synonyms", "active"]


class TermUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    code = serializers.CharField(max_length=100, required=False, allow_blank=True)
    synonyms = serializers.ListField(
        child=serializers.CharField(max_length=200), required=False, max_length=100
    )
    active = serializers.BooleanField(required=False)


class CategorySerializer(serializers.ModelSerializer):
    terms = TermSerializer(many=True, read_only=True)

    class Meta:
        model = Category
        fields = ["id", "key", "name", "description", "multi_valued", "order", "terms"]
        read_only_fields = ["id", "order", "terms"]


class CategoryUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    multi_valued = serializers.BooleanField(required=False)


class SlideTagSerializer(serializers.ModelSerializer):
    term_name = serializers.CharField(source="term.name", read_only=True)
    category_key = serializers.CharField(source="term.category.key", read_only=True)

    class Meta:
        model = SlideTag
        fields = ["id", "term", "term_name", "category_key", "source", "created_by", "created_at"]
        read_only_fields = fields


class TagAddSerializer(serializers.Serializer):
    term = serializers.PrimaryKeyRelatedField(queryset=Term.objects.select_related("category"))
    source = serializers.ChoiceField(choices=["manual", "suggestion"], default="manual")


class SlideIdsField(serializers.ListField):
    child = serializers.IntegerField(min_value=1)

    def __init__(self, **kwargs):
        super().__init__(allow_empty=False, max_length=MAX_IDS, **kwargs)


class BulkTagSerializer(serializers.Serializer):
    slides = SlideIdsField()
    add = serializers.PrimaryKeyRelatedField(
        queryset=Term.objects.select_related("category"), many=True, required=False
    )
    remove = serializers.PrimaryKeyRelatedField(
        queryset=Term.objects.select_related("category"), many=True, required=False
    )


class BulkTagResultSerializer(serializers.Serializer):
    slides = serializers.IntegerField()
    added = serializers.IntegerField()
    removed = serializers.IntegerField()


class ReviewSerializer(serializers.Serializer):
    slides = SlideIdsField()
    status = serializers.ChoiceField(choices=["untagged", "tagged", "reviewed", "excluded"])
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class ReviewResultSerializer(serializers.Serializer):
    slides = serializers.IntegerField()
    changed = serializers.IntegerField()


class SuggestionSerializer(serializers.Serializer):
    term = TermSerializer()
    reason = serializers.CharField()


class TagRuleSerializer(serializers.ModelSerializer):
    term_name = serializers.CharField(source="term.name", read_only=True)
    category_key = serializers.CharField(source="term.category.key", read_only=True)
    field = serializers.ChoiceField(choices=RuleField.choices, default=RuleField.PATH)

    class Meta:
        model = TagRule
        fields = [
            "id",
            "name",
            "field",
            "pattern",
            "term",
            "term_name",
            "category_key",
            "active",
            "created_at",
        ]
        read_only_fields = ["id", "created_at"]


class RuleApplyResultSerializer(serializers.Serializer):
    matched = serializers.IntegerField()
    added = serializers.IntegerField()


class SlideGroupSerializer(serializers.ModelSerializer):
    slide_count = serializers.IntegerField(read_only=True, default=None)
    kind = serializers.ChoiceField(choices=GroupKind.choices, default=GroupKind.RULE)
    weight = serializers.FloatField(min_value=0.0001, max_value=1e6, default=1.0)
    rule = serializers.CharField(max_length=5000, allow_blank=True, required=False)

    class Meta:
        model = SlideGroup
        fields = [
            "id",
            "name",
            "description",
            "weight",
            "kind",
            "rule",
            "slide_count",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "slide_count", "created_at", "updated_at"]


class RulePreviewSerializer(serializers.Serializer):
    rule = serializers.CharField(max_length=5000, allow_blank=True)


class RulePreviewResultSerializer(serializers.Serializer):
    slide_count = serializers.IntegerField()


class MembersSerializer(serializers.Serializer):
    add = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        default=list,
        max_length=MAX_IDS,
    )
    remove = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        default=list,
        max_length=MAX_IDS,
    )


class MembersResultSerializer(serializers.Serializer):
    added = serializers.IntegerField()
    removed = serializers.IntegerField()


class SnapshotSerializer(serializers.ModelSerializer):
    class Meta:
        model = GroupSnapshot
        fields = ["id", "group", "rule", "weight", "slide_count", "created_by", "created_at"]
        read_only_fields = fields


class GroupCountSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    weight = serializers.FloatField()
    slide_count = serializers.IntegerField()


class GroupSummarySerializer(serializers.Serializer):
    slides = serializers.IntegerField()
    in_no_group = serializers.IntegerField()
    in_multiple_groups = serializers.IntegerField()
    groups = GroupCountSerializer(many=True)


class ImportErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField()
    column = serializers.CharField()
    message = serializers.CharField()


class ImportResultSerializer(serializers.Serializer):
    applied_rows = serializers.IntegerField()
    errors = ImportErrorSerializer(many=True)


class ImportRejectedSerializer(serializers.Serializer):
    """A refused import: the error shape, with the report when rows were checked."""

    detail = serializers.CharField()
    code = serializers.CharField()
    fields = serializers.DictField(required=False, help_text="Per-field problems of the form.")
    applied_rows = serializers.IntegerField(required=False)
    errors = ImportErrorSerializer(many=True, required=False)


class ImportSerializer(serializers.Serializer):
    file = serializers.FileField(max_length=255)
    apply_valid = serializers.BooleanField(default=False)
