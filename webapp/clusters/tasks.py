"""Celery task for cluster runs (queue `gpu`, which any worker may serve: the same code runs
on the CPU when FAISS or torch sees no GPU). Acknowledged late: a worker lost mid-run has the
task redelivered, and the run continues from its last finished phase."""

import time

from celery import shared_task
from django.conf import settings
from django.db import OperationalError

from webapp.clusters.models import ClusterRun


@shared_task(
    name="clusters.execute_run",
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
    time_limit=settings.CLUSTER_TASK_TIME_LIMIT,
    soft_time_limit=settings.CLUSTER_TASK_TIME_LIMIT - 60,
)
def execute_run(run_id: int, attempt: int) -> str:
    # Imported here: the web process enqueues without loading FAISS and the library.
    from webapp.clusters.services.execution import alive_elsewhere, run_execute

    # A redelivered copy (broker reconnect, visibility timeout) must not work beside a live
    # one: wait until that one finishes (nothing left to do) or falls silent (take over).
    while alive_elsewhere(run_id, attempt):
        time.sleep(settings.CLUSTER_HEARTBEAT_EVERY_S)
    return run_execute(run_id, attempt=attempt, heartbeat_thread=True).status


def enqueue_run(run: ClusterRun) -> None:
    execute_run.delay(run.pk, run.attempt)
