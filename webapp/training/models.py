"""Training runs: DINOv2 pretraining of a backbone on a built dataset version, launched and
watched from the web app. The trainer (`python -m trainer`) writes its files under
DATA_ROOT/training/run-<id>/; the worker copies its progress here, one metric row per logged
step or evaluation (bounded by the run's steps)."""

from django.conf import settings
from django.db import models

from webapp.core.status import RunStatus


class TrainingRun(models.Model):
    name = models.CharField(max_length=200)
    dataset_version = models.ForeignKey(
        "datasets.DatasetVersion", on_delete=models.PROTECT, related_name="training_runs"
    )
    preset = models.CharField(max_length=50)
    model = models.CharField(max_length=200, help_text="The timm name of the backbone.")
    recipe = models.JSONField(help_text="The full resolved trainer Recipe.")
    eval_folder = models.CharField(max_length=1000, blank=True)
    status = models.CharField(max_length=12, choices=RunStatus.choices, default=RunStatus.QUEUED)
    step = models.PositiveIntegerField(default=0)
    total_steps = models.PositiveIntegerField(default=0)
    images_per_s = models.FloatField(null=True, blank=True)
    gpu_mem_mb = models.FloatField(null=True, blank=True)
    eta_s = models.FloatField(null=True, blank=True)
    device = models.CharField(max_length=8, blank=True)
    world_size = models.PositiveIntegerField(default=1)
    last_metrics = models.JSONField(null=True, blank=True)
    latest_eval = models.JSONField(null=True, blank=True)
    checkpoint_step = models.PositiveIntegerField(null=True, blank=True)
    backbone_path = models.CharField(
        max_length=300, blank=True, help_text="Relative to DATA_ROOT; set once exported."
    )
    folder = models.CharField(max_length=300, blank=True, help_text="Relative to DATA_ROOT.")
    message = models.TextField(blank=True)
    error = models.TextField(blank=True)
    # Execution bookkeeping: the live task refreshes the heartbeat; a resume bumps `attempt`,
    # so an older delivery of the task sees it has been superseded and stops.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    attempt = models.PositiveIntegerField(default=0)
    cancel_requested = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["status", "heartbeat_at"], name="training_run_status_hb"),
            models.Index(fields=["-created_at"], name="training_run_created"),
        ]

    def __str__(self) -> str:
        return f"training run {self.pk} ({self.status})"


class MetricKind(models.TextChoices):
    STEP = "step", "Step"
    EVAL = "eval", "Evaluation"


class TrainingMetric(models.Model):
    """One line of the trainer's metrics.jsonl: a step's losses and rates, or an evaluation."""

    run = models.ForeignKey(TrainingRun, on_delete=models.CASCADE, related_name="metrics")
    step = models.PositiveIntegerField()
    kind = models.CharField(max_length=4, choices=MetricKind.choices, default=MetricKind.STEP)
    values = models.JSONField()

    class Meta:
        # The unique constraint's index on (run, kind, step) is the one every read and the
        # ingestion's upsert use; no second index.
        constraints = [
            models.UniqueConstraint(
                fields=["run", "kind", "step"], name="training_metric_unique_step"
            )
        ]

    def __str__(self) -> str:
        return f"run {self.run_id} {self.kind} {self.step}"
