"""Exports of a built version: WebDataset shards written by the library on the cpu queue.

The task is acknowledged late, so a worker lost mid-export has it redelivered; the library
keeps finished shards (`write_shards(resume=True)`), so the export continues where it was.
A heartbeat shows whether a running export is alive: a stale one is shown `interrupted`
(list and detail) and continues on redelivery. Slides missing on disk are listed in the
report while the export goes on.
"""

import logging
import time
from dataclasses import asdict, is_dataclass
from datetime import timedelta

from django.conf import settings
from django.db import OperationalError, transaction
from django.db.models import Q
from django.utils import timezone

from webapp.audit.services import audit_one
from webapp.core.errors import ServiceError
from webapp.core.heartbeat import Heartbeat
from webapp.datasets.models import DatasetVersion, ExportJob, ExportStatus, VersionStatus
from webapp.datasets.services.builds import manifest_path, remove_dead_temporaries

logger = logging.getLogger(__name__)
MAX_SHARD_SIZE = 100_000
PROGRESS_EVERY_S = 1.0
CLAIMABLE = (ExportStatus.QUEUED, ExportStatus.RUNNING, ExportStatus.INTERRUPTED)


def export_dir(job: ExportJob):
    return settings.DATA_ROOT / job.folder


def export_start(
    *, actor, version: DatasetVersion, shard_size: int = 1000, jpeg_quality: int = 90, enqueue=None
) -> ExportJob:
    if version.status != VersionStatus.BUILT:
        raise ServiceError(
            f"Version {version.pk} is {version.status}; only a built version can be exported.",
            code="not_built",
            status_code=409,
        )
    if isinstance(shard_size, bool) or not isinstance(shard_size, int):
        raise ServiceError("shard_size must be a whole number.", code="invalid")
    if not 1 <= shard_size <= MAX_SHARD_SIZE:
        raise ServiceError(
            f"shard_size must be between 1 and {MAX_SHARD_SIZE:,} tiles.", code="invalid"
        )
    if not 1 <= jpeg_quality <= 100:
        raise ServiceError("jpeg_quality must be between 1 and 100.", code="invalid")
    with transaction.atomic():
        job = ExportJob.objects.create(
            version=version,
            shard_size=shard_size,
            jpeg_quality=jpeg_quality,
            progress_total=version.row_count,
            created_by=actor,
            message="Waiting for a worker.",
        )
        job.folder = f"{version.folder}/exports/webdataset-{job.pk}"
        job.save(update_fields=["folder"])
        audit_one(
            actor=actor,
            action="dataset.export",
            object_type="dataset_version",
            object_id=version.pk,
            after={"export": job.pk, "kind": job.kind, "shard_size": shard_size},
        )
        if enqueue:
            transaction.on_commit(lambda: enqueue(job))
    return job


def _stale() -> Q:
    stale = timezone.now() - timedelta(seconds=settings.DATASET_HEARTBEAT_STALE_S)
    return Q(heartbeat_at__lt=stale) | Q(heartbeat_at__isnull=True, started_at__lt=stale)


def exports_mark_interrupted() -> int:
    """Running exports whose worker stopped reporting become `interrupted` (they continue
    when the task is redelivered)."""
    return ExportJob.objects.filter(_stale(), status=ExportStatus.RUNNING).update(
        status=ExportStatus.INTERRUPTED,
        message=(
            f"The worker stopped reporting (no heartbeat for over "
            f"{settings.DATASET_HEARTBEAT_STALE_S} s); the export continues when its task is "
            "delivered again."
        ),
    )


def alive_elsewhere(job_id: int) -> bool:
    fresh = timezone.now() - timedelta(seconds=settings.DATASET_HEARTBEAT_STALE_S)
    return ExportJob.objects.filter(
        pk=job_id, status=ExportStatus.RUNNING, heartbeat_at__gte=fresh
    ).exists()


def shards(job: ExportJob) -> list[dict]:
    """The finished shards (the library writes each under a hidden name, then renames)."""
    folder = export_dir(job)
    if not folder.is_dir():
        return []
    return [
        {"name": p.name, "size": p.stat().st_size, "url": f"/api/exports/{job.pk}/shards/{p.name}"}
        for p in sorted(folder.glob("shard-*.tar"))
        if p.is_file()
    ]


def _report(report) -> dict:
    if hasattr(report, "to_json"):
        data = report.to_json()
    else:
        data = asdict(report) if is_dataclass(report) else dict(report)
    missing = data.get("missing_slides") or []
    data["missing_slides"] = [
        m if isinstance(m, dict) else {"slide": int(m[0]), "reason": str(m[1])} for m in missing
    ]
    return {k: (str(v) if hasattr(v, "__fspath__") else v) for k, v in data.items()}


def export_run(job_id: int, *, heartbeat_thread: bool = False) -> ExportJob:
    """Run (or continue) an export; the body of the Celery task, callable directly."""
    from curation.webdataset_export import write_shards

    now = timezone.now()
    claimed = ExportJob.objects.filter(pk=job_id, status__in=CLAIMABLE).update(
        status=ExportStatus.RUNNING, heartbeat_at=now, started_at=now, error=""
    )
    job = ExportJob.objects.select_related("version").get(pk=job_id)
    if not claimed:
        return job
    last = [0.0]

    def progress(done: int, total: int) -> None:
        if time.monotonic() - last[0] >= PROGRESS_EVERY_S or done >= total:
            last[0] = time.monotonic()
            ExportJob.objects.filter(pk=job_id).update(
                progress_done=done,
                progress_total=total,
                heartbeat_at=timezone.now(),
                status=ExportStatus.RUNNING,
                message=f"Writing shards: tile {done:,} of {total:,}.",
            )

    beat = Heartbeat(
        ExportJob.objects.filter(pk=job_id, status=ExportStatus.RUNNING),
        settings.DATASET_HEARTBEAT_EVERY_S,
        enabled=heartbeat_thread,
    )
    try:
        beat.start()
        folder = export_dir(job)
        folder.mkdir(parents=True, exist_ok=True)
        remove_dead_temporaries(folder)  # a killed worker's half-written shard
        report = _report(
            write_shards(
                manifest_path(job.version, "parquet"),
                folder,
                shard_size=job.shard_size,
                jpeg_quality=job.jpeg_quality,
                progress=progress,
                resume=True,
            )
        )
        missing = len(report.get("missing_slides") or [])
        message = f"{report.get('tiles_written', 0):,} tiles in {len(shards(job)):,} shard(s)."
        if missing:
            message += f" {missing:,} slide(s) missing on disk were skipped (see the report)."
        ExportJob.objects.filter(pk=job_id).update(
            status=ExportStatus.SUCCEEDED,
            report=report,
            message=message,
            progress_done=job.progress_total or report.get("tiles_written", 0),
            finished_at=timezone.now(),
            heartbeat_at=timezone.now(),
        )
    except OperationalError:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure must end as a visible reason
        logger.exception("Export %s failed", job_id)
        ExportJob.objects.filter(pk=job_id).update(
            status=ExportStatus.FAILED,
            error=f"{type(exc).__name__}: {exc}",
            message="The export failed.",
            finished_at=timezone.now(),
        )
    finally:
        beat.stop()
    return ExportJob.objects.get(pk=job_id)
