"""Celery tasks for dataset versions (routed `datasets.*` → the cpu queue). Acknowledged
late: a build or export whose worker is lost is redelivered; a build starts over (its result
is deterministic), an export keeps its finished shards."""

import time

from celery import shared_task
from django.conf import settings
from django.db import OperationalError

from webapp.datasets.models import DatasetVersion, ExportJob


@shared_task(
    name="datasets.build_version",
    acks_late=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
)
def build_version(version_id: int, attempt: int) -> str:
    from webapp.datasets.services.builds import version_build

    return version_build(version_id, attempt=attempt, heartbeat_thread=True).status


@shared_task(
    name="datasets.export",
    acks_late=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
)
def export(job_id: int) -> str:
    from webapp.datasets.services.exports import alive_elsewhere, export_run

    # A redelivered copy must not write beside a live one: wait until it finishes or falls
    # silent (then take over; finished shards are kept).
    while alive_elsewhere(job_id):
        time.sleep(settings.DATASET_HEARTBEAT_EVERY_S)
    return export_run(job_id, heartbeat_thread=True).status


def enqueue_build(version: DatasetVersion) -> None:
    build_version.delay(version.pk, version.attempt)


def enqueue_export(job: ExportJob) -> None:
    export.delay(job.pk)
