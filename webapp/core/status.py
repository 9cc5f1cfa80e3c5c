"""The lifecycle of a long job (cluster runs, training runs): one vocabulary, so the API
schema and the pages show the same states everywhere."""

from django.db import models
from django.db.models import F, Value
from django.db.models.functions import Coalesce
from django.utils import timezone


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    INTERRUPTED = "interrupted", "Interrupted"
    CANCELLED = "cancelled", "Cancelled"


def claim_run(model, run_id: int, attempt: int, **fields) -> bool:
    """Mark this attempt of a run (a model with RunStatus, attempt, heartbeat and cancel
    fields) running, unless it has finished, been cancelled or been superseded by a newer
    attempt; a cancel requested before it started ends it cancelled. True when claimed."""
    now = timezone.now()
    claimed = model.objects.filter(
        pk=run_id,
        attempt=attempt,
        cancel_requested=False,
        status__in=[RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.INTERRUPTED],
    ).update(
        status=RunStatus.RUNNING,
        heartbeat_at=now,
        started_at=Coalesce(F("started_at"), Value(now)),
        error="",
        **fields,
    )
    if not claimed:
        model.objects.filter(
            pk=run_id, attempt=attempt, cancel_requested=True, finished_at__isnull=True
        ).exclude(status__in=[RunStatus.SUCCEEDED, RunStatus.FAILED]).update(
            status=RunStatus.CANCELLED, message="Cancelled.", finished_at=now
        )
    return bool(claimed)
