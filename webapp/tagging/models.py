"""Pathologist knowledge: a controlled vocabulary, tags on slides, tag rules, slide groups."""

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models


class Category(models.Model):
    """A kind of fact about a slide: tissue, stain, indication, fixation, scanner, lab…"""

    key = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    multi_valued = models.BooleanField(default=False)
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["order", "key"]
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.key


class Term(models.Model):
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="terms")
    name = models.CharField(max_length=200)
    code = models.CharField(max_length=100, blank=True, help_text="e.g. an ontology id")
    synonyms = ArrayField(models.CharField(max_length=200), default=list, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["category__order", "name"]
        constraints = [
            models.UniqueConstraint(fields=["category", "name"], name="term_unique_name")
        ]

    def __str__(self) -> str:
        return f"{self.category.key}:{self.name}"


class TagSource(models.TextChoices):
    MANUAL = "manual", "Manual"
    SUGGESTION = "suggestion", "Confirmed suggestion"
    RULE = "rule", "Tag rule"
    IMPORT = "import", "CSV import"


class SlideTag(models.Model):
    slide = models.ForeignKey("slides.Slide", on_delete=models.CASCADE, related_name="tags")
    term = models.ForeignKey(Term, on_delete=models.PROTECT, related_name="slide_tags")
    # The term's category when that category is single-valued, else NULL: the unique
    # constraint below then allows one term per slide in such a category, in the database.
    single_category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    source = models.CharField(max_length=16, choices=TagSource.choices, default=TagSource.MANUAL)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["slide", "term"], name="tag_unique_term"),
            models.UniqueConstraint(fields=["slide", "single_category"], name="tag_single_value"),
        ]
        indexes = [models.Index(fields=["term", "slide"], name="tag_term_slide")]

    def __str__(self) -> str:
        return f"{self.slide_id}:{self.term_id}"


class RuleField(models.TextChoices):
    PATH = "path", "Relative path"
    NAME = "name", "File name"


class TagRule(models.Model):
    """A regular expression on a slide's path or name that suggests (or applies) a term."""

    name = models.CharField(max_length=200, unique=True)
    field = models.CharField(max_length=8, choices=RuleField.choices, default=RuleField.PATH)
    pattern = models.CharField(max_length=500)
    term = models.ForeignKey(Term, on_delete=models.PROTECT, related_name="rules")
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class GroupKind(models.TextChoices):
    RULE = "rule", "Defined by a rule over tags"
    EXPLICIT = "explicit", "Explicit membership"


class SlideGroup(models.Model):
    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    weight = models.FloatField(default=1.0, help_text="Sampling weight of the group.")
    kind = models.CharField(max_length=8, choices=GroupKind.choices, default=GroupKind.RULE)
    rule = models.TextField(blank=True)
    members = models.ManyToManyField("slides.Slide", blank=True, related_name="explicit_groups")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class GroupSnapshot(models.Model):
    """A group's membership frozen at one moment, for a dataset version to refer to."""

    group = models.ForeignKey(SlideGroup, on_delete=models.PROTECT, related_name="snapshots")
    rule = models.TextField(blank=True)
    weight = models.FloatField()
    slide_ids = ArrayField(models.BigIntegerField(), default=list)
    slide_count = models.PositiveIntegerField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.group_id} at {self.created_at:%Y-%m-%d %H:%M}"
