"""Curated dataset versions (a recipe over slide groups and reviewed clusters, built into an
immutable tile manifest under DATA_ROOT/datasets/version-<id>/) and their export jobs.
Nothing per tile lives here."""

from django.conf import settings
from django.db import models


class VersionStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    BUILDING = "building", "Building"
    BUILT = "built", "Built"
    FAILED = "failed", "Failed"


class DatasetVersion(models.Model):
    name = models.CharField(max_length=200)
    status = models.CharField(
        max_length=10, choices=VersionStatus.choices, default=VersionStatus.DRAFT
    )
    cluster_run = models.ForeignKey(
        "clusters.ClusterRun", on_delete=models.PROTECT, related_name="dataset_versions"
    )
    recipe = models.JSONField(help_text="Groups, categories, budget, quality, split, seed.")
    inputs = models.JSONField(
        default=dict, blank=True, help_text="The state of the inputs, frozen at build time."
    )
    folder = models.CharField(max_length=300, blank=True, help_text="Relative to DATA_ROOT.")
    checksum = models.CharField(max_length=64, blank=True, help_text="SHA-256 of the manifest.")
    row_count = models.BigIntegerField(default=0)
    shortfall = models.BigIntegerField(default=0)
    stats = models.JSONField(default=dict, blank=True)
    message = models.TextField(blank=True)
    error = models.TextField(blank=True)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children"
    )
    # A build bumps `attempt`; an older delivery of the task sees it is superseded and stops.
    attempt = models.PositiveIntegerField(default=0)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    built_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    built_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["-created_at"], name="dataset_version_created")]

    def __str__(self) -> str:
        return f"dataset version {self.pk} ({self.status})"


class ExportKind(models.TextChoices):
    WEBDATASET = "webdataset", "WebDataset shards"


class ExportStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    INTERRUPTED = "interrupted", "Interrupted"


class ExportJob(models.Model):
    version = models.ForeignKey(DatasetVersion, on_delete=models.CASCADE, related_name="exports")
    kind = models.CharField(
        max_length=12, choices=ExportKind.choices, default=ExportKind.WEBDATASET
    )
    status = models.CharField(
        max_length=12, choices=ExportStatus.choices, default=ExportStatus.QUEUED
    )
    shard_size = models.PositiveIntegerField(default=1000)
    jpeg_quality = models.PositiveSmallIntegerField(default=90)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    folder = models.CharField(max_length=300, blank=True, help_text="Relative to DATA_ROOT.")
    report = models.JSONField(default=dict, blank=True)
    message = models.TextField(blank=True)
    error = models.TextField(blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "heartbeat_at"], name="export_status_hb")]

    def __str__(self) -> str:
        return f"export {self.pk} of version {self.version_id} ({self.status})"
