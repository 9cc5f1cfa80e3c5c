from pathlib import Path

from django.conf import settings
from django.db import models


class SlideRoot(models.Model):
    """A folder an admin allowed; slides are registered by scanning it."""

    name = models.CharField(max_length=200, unique=True)
    path = models.CharField(max_length=1024, unique=True, help_text="Absolute, resolved path.")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # A restricted root's slides are seen only by admins and `allowed_users` (see
    # webapp/slides/access.py); an open root's by every logged-in user.
    restricted = models.BooleanField(default=False)
    allowed_users = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="allowed_slide_roots"
    )

    def __str__(self) -> str:
        return self.name


class SlideStatus(models.TextChoices):
    REGISTERED = "registered", "Registered"
    FAILED = "failed", "Failed"
    MISSING = "missing", "Missing"


class ReviewStatus(models.TextChoices):
    UNTAGGED = "untagged", "Untagged"
    TAGGED = "tagged", "Tagged"
    REVIEWED = "reviewed", "Reviewed"
    EXCLUDED = "excluded", "Excluded"


class Slide(models.Model):
    """One whole-slide image; its identity survives moves (matched by fingerprint)."""

    root = models.ForeignKey(SlideRoot, on_delete=models.PROTECT, related_name="slides")
    relative_path = models.CharField(max_length=1024)
    name = models.CharField(max_length=255)
    status = models.CharField(max_length=16, choices=SlideStatus.choices)
    failure_reason = models.TextField(blank=True)

    # What the last scan saw on disk; unchanged size and mtime mean the file is skipped.
    size_bytes = models.BigIntegerField(default=0)
    mtime = models.FloatField(default=0)
    fingerprint = models.CharField(max_length=64, blank=True, db_index=True)

    vendor = models.CharField(max_length=64, blank=True)
    level_count = models.PositiveIntegerField(null=True, blank=True)
    width = models.PositiveBigIntegerField(null=True, blank=True)
    height = models.PositiveBigIntegerField(null=True, blank=True)
    level_dimensions = models.JSONField(default=list, blank=True)
    level_downsamples = models.JSONField(default=list, blank=True)
    mpp_x = models.FloatField(null=True, blank=True)
    mpp_y = models.FloatField(null=True, blank=True)
    objective_power = models.FloatField(null=True, blank=True)
    # Set by an admin for a slide whose file carries no usable mpp (tiling needs one).
    mpp_override = models.FloatField(null=True, blank=True)
    properties = models.JSONField(default=dict, blank=True)
    associated_images = models.JSONField(default=list, blank=True)

    # Curation progress, kept by the tagging services (untagged ↔ tagged follow the tags).
    review_status = models.CharField(
        max_length=10, choices=ReviewStatus.choices, default=ReviewStatus.UNTAGGED
    )
    review_reason = models.TextField(blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["root", "relative_path"], name="slide_unique_path")
        ]
        indexes = [
            models.Index(fields=["status", "name"], name="slide_status_name"),
            models.Index(fields=["vendor"], name="slide_vendor"),
            models.Index(fields=["mpp_x"], name="slide_mpp_x"),
            models.Index(fields=["name"], name="slide_name"),
            models.Index(fields=["-created_at"], name="slide_created"),
            models.Index(fields=["size_bytes"], name="slide_size"),
            models.Index(fields=["review_status"], name="slide_review"),
        ]

    def __str__(self) -> str:
        return self.relative_path

    @property
    def absolute_path(self) -> Path:
        return Path(self.root.path) / self.relative_path


class ScanStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class ScanJob(models.Model):
    """One scan of a slide root; counters are updated as chunks of slides finish."""

    root = models.ForeignKey(SlideRoot, on_delete=models.CASCADE, related_name="scans")
    status = models.CharField(max_length=16, choices=ScanStatus.choices, default=ScanStatus.QUEUED)
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    registered = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    moved = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    missing = models.PositiveIntegerField(default=0)
    message = models.TextField(blank=True)
    task_id = models.CharField(max_length=64, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["root", "-created_at"], name="scan_root_created")]

    def __str__(self) -> str:
        return f"scan {self.pk} of {self.root_id} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in (ScanStatus.QUEUED, ScanStatus.RUNNING)
