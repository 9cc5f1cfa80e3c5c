"""Tiling configurations, runs, and each slide's tiling state. Tiles themselves live in the
Parquet tile store under DATA_ROOT, never in the database."""

from django.conf import settings
from django.db import models


class TilingConfig(models.Model):
    """A saved, reusable set of tiling parameters (curation.tiling.TilingConfig as JSON)."""

    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    params = models.JSONField()
    key = models.CharField(max_length=64, db_index=True, help_text="Names the store folder.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    PARTIAL = "partial", "Finished with failures"
    FAILED = "failed", "Failed"


class TilingRun(models.Model):
    config = models.ForeignKey(TilingConfig, on_delete=models.PROTECT, related_name="runs")
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.QUEUED)
    selection = models.JSONField(default=dict, help_text="What was asked for: slides, group…")
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    tile_count = models.BigIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"tiling run {self.pk} ({self.status})"


class TileStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class SlideTiling(models.Model):
    """One slide under one configuration: its latest state and where its tiles are."""

    slide = models.ForeignKey("slides.Slide", on_delete=models.CASCADE, related_name="tilings")
    config = models.ForeignKey(TilingConfig, on_delete=models.PROTECT, related_name="slides")
    run = models.ForeignKey(
        TilingRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="slide_tilings"
    )
    status = models.CharField(max_length=8, choices=TileStatus.choices, default=TileStatus.QUEUED)
    error = models.TextField(blank=True)
    tile_count = models.PositiveIntegerField(null=True, blank=True)
    tissue_area_mm2 = models.FloatField(null=True, blank=True)
    tiles_done = models.PositiveIntegerField(default=0)
    tiles_total = models.PositiveIntegerField(default=0)
    path = models.CharField(max_length=500, blank=True, help_text="Relative to DATA_ROOT.")
    fingerprint = models.CharField(max_length=64, blank=True, help_text="Of the slide tiled.")
    seconds = models.FloatField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Whether its run has counted this slide's outcome: a redelivered dispatch sends a
    # slide's task twice, and the second copy must not count it again.
    counted = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["slide", "config"], name="tiling_unique_slide_config")
        ]
        indexes = [models.Index(fields=["run", "status"], name="tiling_run_status")]

    def __str__(self) -> str:
        return f"slide {self.slide_id} × config {self.config_id}: {self.status}"
