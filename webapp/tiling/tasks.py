"""Celery tasks for tiling (queue `cpu`): one task per slide, redelivered on worker loss."""

from celery import shared_task
from django.db import OperationalError

from webapp.tiling import services
from webapp.tiling.models import TilingRun


@shared_task(
    name="tiling.tile_slide", autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5
)
def tile_slide(tiling_id: int) -> None:
    services.slide_tile(tiling_id=tiling_id)


@shared_task(name="tiling.dispatch_run")
def dispatch_run(run_id: int) -> int:
    """Send one task per slide (from a worker, so launching 100k slides is instant)."""
    run = TilingRun.objects.get(pk=run_id)
    count = 0
    for tiling_id in services.run_tilings(run).iterator(chunk_size=2000):
        tile_slide.delay(tiling_id)
        count += 1
    return count


def enqueue_run(run: TilingRun) -> None:
    dispatch_run.delay(run.pk)
