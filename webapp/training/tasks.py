"""Celery task for training runs (routed `training.*` → the gpu queue). Acknowledged late: a
worker lost mid-run has the task redelivered, and the trainer resumes from its latest
checkpoint (`--resume`)."""

import time

from celery import shared_task
from django.conf import settings
from django.db import OperationalError

from webapp.training.models import TrainingRun


@shared_task(
    name="training.execute_run",
    acks_late=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
    time_limit=settings.TRAINING_TASK_TIME_LIMIT,
    soft_time_limit=settings.TRAINING_TASK_TIME_LIMIT - 300,
)
def execute_run(run_id: int, attempt: int) -> str:
    # Imported here: the web process enqueues without loading the execution machinery.
    from webapp.training.services.execution import alive_elsewhere, run_execute

    # A redelivered copy (broker reconnect, visibility timeout) must not start a second
    # trainer in the same folder beside a live one: wait until that one finishes or falls
    # silent (then take over: the trainer resumes from its checkpoint).
    while alive_elsewhere(run_id, attempt):
        time.sleep(settings.TRAINING_HEARTBEAT_EVERY_S)
    return run_execute(run_id, attempt=attempt).status


def enqueue_run(run: TrainingRun) -> None:
    execute_run.delay(run.pk, run.attempt)
