"""Semantic tile clusters: the vocabulary pathologists name clusters with, cluster runs, one
row per cluster (never per tile: labels stay in files under DATA_ROOT/clusters/run-<id>/),
and each reviewer's own latest vote."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower

from webapp.core.status import RunStatus


class SemanticCategory(models.Model):
    """A named tissue class (Tumour, Stroma…) with its colour, sampling weight and key."""

    name = models.CharField(max_length=100)
    colour = models.CharField(max_length=7, help_text="#rrggbb")
    default_weight = models.FloatField(default=1.0)
    shortcut = models.CharField(max_length=1, blank=True, help_text="0-9, or empty for none.")
    description = models.TextField(blank=True)
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "name"]
        verbose_name_plural = "semantic categories"
        constraints = [
            models.UniqueConstraint(Lower("name"), name="semantic_category_unique_name"),
            models.UniqueConstraint(
                fields=["shortcut"], condition=~Q(shortcut=""), name="semantic_category_shortcut"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class FeatureKind(models.TextChoices):
    COLOUR = "colour", "Colour features"
    EMBEDDING = "embedding", "Deep embeddings"


class Phase(models.TextChoices):
    NONE = "", "Not started"
    EMBEDDING = "embedding", "Embedding"
    SAMPLING = "sampling", "Sampling"
    TRAINING = "training", "Training"
    ASSIGNING = "assigning", "Assigning"
    SUMMARISING = "summarising", "Summarising"
    INDEXING = "indexing", "Indexing"
    DONE = "done", "Done"


class ClusterRun(models.Model):
    name = models.CharField(max_length=200)
    config = models.ForeignKey(
        "tiling.TilingConfig", on_delete=models.PROTECT, related_name="cluster_runs"
    )
    feature_kind = models.CharField(max_length=10, choices=FeatureKind.choices)
    embedding_model = models.JSONField(null=True, blank=True)
    params = models.JSONField(help_text="k, per_slide, iterations, restarts, spherical, …")
    selection = models.JSONField(default=dict, help_text='{"slides": [...], "group": id}')
    status = models.CharField(max_length=12, choices=RunStatus.choices, default=RunStatus.QUEUED)
    phase = models.CharField(max_length=12, choices=Phase.choices, blank=True, default="")
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    message = models.TextField(blank=True)
    error = models.TextField(blank=True)
    device = models.CharField(max_length=8, blank=True)
    slide_count = models.PositiveIntegerField(default=0)
    tile_count = models.BigIntegerField(default=0)
    inertia = models.FloatField(null=True, blank=True)
    skipped_slides = models.PositiveIntegerField(default=0)
    failed_slides = models.JSONField(default=list, blank=True, help_text="[[slide id, reason]]")
    folder = models.CharField(max_length=300, blank=True, help_text="Relative to DATA_ROOT.")
    # Execution bookkeeping: a live task refreshes the heartbeat; a resume bumps `attempt`, so
    # an older delivery of the task sees it has been superseded and stops.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    attempt = models.PositiveIntegerField(default=0)
    cancel_requested = models.BooleanField(default=False)
    locked = models.BooleanField(default=False)
    locked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    locked_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "heartbeat_at"], name="cluster_run_status_hb")]

    def __str__(self) -> str:
        return f"cluster run {self.pk} ({self.status})"


class ClusterStatus(models.TextChoices):
    UNREVIEWED = "unreviewed", "Unreviewed"
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"
    MERGED = "merged", "Merged"


class RejectReason(models.TextChoices):
    NONE = "", "None"
    BACKGROUND = "background", "Background"
    ARTEFACT = "artefact", "Artefact"
    OUT_OF_FOCUS = "out_of_focus", "Out of focus"
    PEN = "pen", "Pen"
    OTHER = "other", "Other"


class Cluster(models.Model):
    """One cluster of a run: its summary (from the run's files) and the current decision."""

    run = models.ForeignKey(ClusterRun, on_delete=models.CASCADE, related_name="clusters")
    index = models.PositiveIntegerField()
    size = models.BigIntegerField(default=0)
    share = models.FloatField(default=0.0)
    slide_count = models.PositiveIntegerField(default=0)
    quality = models.JSONField(default=dict, blank=True)
    map_x = models.FloatField(null=True, blank=True)
    map_y = models.FloatField(null=True, blank=True)
    # Precomputed at summarising: top 20 per dimension, and the exemplar tiles by kind.
    composition = models.JSONField(default=dict, blank=True)
    exemplars = models.JSONField(default=dict, blank=True)

    status = models.CharField(
        max_length=10, choices=ClusterStatus.choices, default=ClusterStatus.UNREVIEWED
    )
    category = models.ForeignKey(
        SemanticCategory, null=True, blank=True, on_delete=models.PROTECT, related_name="clusters"
    )
    reject_reason = models.CharField(
        max_length=12, choices=RejectReason.choices, blank=True, default=""
    )
    weight = models.FloatField(null=True, blank=True)
    note = models.TextField(blank=True)
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged_from"
    )
    version = models.PositiveIntegerField(default=1)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    settled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["run", "index"]
        constraints = [
            models.UniqueConstraint(fields=["run", "index"], name="cluster_unique_index")
        ]
        indexes = [models.Index(fields=["run", "status"], name="cluster_run_status")]

    def __str__(self) -> str:
        return f"run {self.run_id} cluster {self.index}"


class ClusterVote(models.Model):
    """A reviewer's own latest decision on a cluster (the cluster holds the final one)."""

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="votes")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=10, choices=ClusterStatus.choices)
    category = models.ForeignKey(
        SemanticCategory, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reject_reason = models.CharField(
        max_length=12, choices=RejectReason.choices, blank=True, default=""
    )
    weight = models.FloatField(null=True, blank=True)
    note = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["cluster", "user"], name="cluster_vote_unique_user")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} on {self.cluster_id}: {self.status}"
