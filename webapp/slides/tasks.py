"""Celery tasks for the slide library (queue `io`): they take ids and call services."""

import logging
from collections import Counter

from celery import chord, shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError

from webapp.core.errors import ServiceError
from webapp.slides.models import ScanJob, SlideRoot
from webapp.slides.services import registration

logger = logging.getLogger(__name__)


@shared_task(name="slides.scan_root")
def scan_root(scan_id: int) -> None:
    """Walk the root, then fan the reading out to chunk tasks joined by `finish_scan`."""
    scan = ScanJob.objects.select_related("root").get(pk=scan_id)
    try:
        paths = registration.scan_walk(scan=scan)
    except ServiceError as exc:
        registration.scan_fail(scan_id=scan_id, message=exc.detail)
        return
    except Exception as exc:
        registration.scan_fail(scan_id=scan_id, message=f"The scan stopped: {exc}")
        raise
    chunks = registration.chunked(paths, settings.SCAN_CHUNK_SIZE)
    if not chunks:
        registration.scan_finish(scan_id=scan_id, chunk_counts=[])
        return
    dispatch_chunks(scan_id, scan.root_id, chunks)


def dispatch_chunks(scan_id: int, root_id: int, chunks: list[list[str]]) -> None:
    """Register the chunks in parallel; `finish_scan` adds them up, `fail_scan` runs if one
    of them fails for good, so a scan never stays `running` forever."""
    header = [register_chunk.s(scan_id, root_id, chunk) for chunk in chunks]
    chord(header)(finish_scan.s(scan_id).on_error(fail_scan.s(scan_id)))


@shared_task(
    name="slides.register_chunk",
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    max_retries=5,
)
def register_chunk(scan_id: int, root_id: int, relative_paths: list[str]) -> dict:
    root = SlideRoot.objects.get(pk=root_id)
    counts = registration.register_paths(root=root, relative_paths=relative_paths)
    registration.scan_add_progress(scan_id=scan_id, counts=counts)
    return dict(counts)


@shared_task(name="slides.finish_scan")
def finish_scan(chunk_counts: list[dict], scan_id: int) -> None:
    registration.scan_finish(scan_id=scan_id, chunk_counts=[Counter(c) for c in chunk_counts])


@shared_task(name="slides.fail_scan")
def fail_scan(request, exc, traceback, scan_id: int) -> None:
    registration.scan_fail(scan_id=scan_id, message=f"A part of the scan failed: {exc}")


def enqueue_scan(scan_id: int) -> str:
    result = scan_root.delay(scan_id)
    ScanJob.objects.filter(pk=scan_id).update(task_id=result.id)
    return result.id
