"""Registering the slides of a root: scans, per-slide registration, move detection.

A scan runs in two phases so that it scales to archives of 100k+ slides:
1. `scan_walk` lists the root (names and stat only), counts unchanged slides, marks slides
   whose files vanished as missing, and returns the relative paths that need reading;
2. those paths are registered in chunks (`register_chunk`, one Celery task each, in
   parallel); `scan_finish` adds up the chunk results.
Unchanged means same size and mtime as at the last scan, so a re-scan reads nothing new. A
new path whose fingerprint matches a missing slide is that slide, moved: it keeps its id and
everything attached to it. Vanished slides are never deleted.
"""

import logging
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path

from django.db import InterfaceError, OperationalError, transaction
from django.db.models import F
from django.utils import timezone

from curation.discovery import SlideCandidate, candidate_at, discover_slides, stat_candidate
from curation.fingerprint import fingerprint
from curation.slide_metadata import SlideReadError, read_slide_metadata
from webapp.accounts.models import User
from webapp.core.errors import ServiceError
from webapp.slides.models import ScanJob, ScanStatus, Slide, SlideRoot, SlideStatus
from webapp.slides.services.images import slide_images_ensure

logger = logging.getLogger(__name__)

_METADATA_FIELDS = (
    "vendor",
    "level_count",
    "width",
    "height",
    "level_dimensions",
    "level_downsamples",
    "mpp_x",
    "mpp_y",
    "objective_power",
    "properties",
    "associated_images",
)


# --- one slide -------------------------------------------------------------------------------


def _claim_moved(fp: str) -> Slide | None:
    """A missing slide with this fingerprint, locked so two chunks cannot both claim it."""
    return (
        Slide.objects.select_for_update(skip_locked=True)
        .filter(fingerprint=fp, status=SlideStatus.MISSING)
        .order_by("id")
        .first()
    )


def _fail(slide: Slide, reason: str) -> str:
    slide.status = SlideStatus.FAILED
    slide.failure_reason = reason
    slide.save()
    return "failed"


@transaction.atomic
def slide_register(*, root: SlideRoot, candidate: SlideCandidate) -> str:
    """Register (or re-register) one candidate; returns its outcome:
    "registered", "moved" or "failed".

    Never raises for a bad file: the slide row records `failed` and the reason.
    """
    now = timezone.now()
    slide = (
        Slide.objects.select_for_update()
        .filter(root=root, relative_path=candidate.relative_path)
        .first()
    )
    outcome = "registered"
    try:
        size, mtime = stat_candidate(candidate)
    except OSError as exc:
        size, mtime = 0, 0.0
        if not candidate.problem:
            candidate = SlideCandidate(
                candidate.relative_path,
                candidate.open_path,
                problem=f"The file cannot be read: {exc.strerror or exc}.",
            )

    fp = ""
    if not candidate.problem:
        try:
            fp = fingerprint(candidate.open_path)
        except OSError as exc:
            candidate = SlideCandidate(
                candidate.relative_path,
                candidate.open_path,
                problem=f"The file cannot be read: {exc.strerror or exc}.",
            )
    if slide is None and fp:
        slide = _claim_moved(fp)
        if slide is not None:
            outcome = "moved"
            logger.info(
                "Slide %s moved: %s -> %s", slide.pk, slide.relative_path, candidate.relative_path
            )
    if slide is None:
        slide = Slide(root=root, relative_path=candidate.relative_path)

    slide.root = root
    slide.relative_path = candidate.relative_path
    slide.name = candidate.name[:255]
    slide.size_bytes, slide.mtime, slide.fingerprint = size, mtime, fp
    slide.last_seen_at = now
    if candidate.problem:
        return _fail(slide, candidate.problem)
    try:
        meta = read_slide_metadata(candidate.open_path)
    except SlideReadError as exc:
        return _fail(slide, str(exc))
    for field in _METADATA_FIELDS:
        setattr(slide, field, getattr(meta, field))
    slide.status = SlideStatus.REGISTERED
    slide.failure_reason = ""
    slide.save()
    try:
        slide_images_ensure(slide=slide)
    except SlideReadError as exc:
        return _fail(slide, f"The slide opens but its overview cannot be rendered: {exc}")
    return outcome


def register_paths(*, root: SlideRoot, relative_paths: Iterable[str]) -> Counter:
    """Register each path, isolating failures: one bad slide never stops the others."""
    counts: Counter = Counter()
    root_path = Path(root.path)
    for rel in relative_paths:
        try:
            outcome = slide_register(root=root, candidate=candidate_at(root_path, rel))
        except (OperationalError, InterfaceError):
            raise  # the database is away, not the slide at fault: the chunk's task retries
        except Exception as exc:  # noqa: BLE001 - a bug on one file must not lose the batch
            logger.exception("Unexpected error registering %s in root %s", rel, root.pk)
            with transaction.atomic():
                slide, _ = Slide.objects.get_or_create(
                    root=root,
                    relative_path=rel,
                    defaults={"name": Path(rel).name[:255], "status": SlideStatus.FAILED},
                )
                _fail(slide, f"Unexpected error while reading the slide: {exc}")
            outcome = "failed"
        counts[outcome] += 1
    return counts


# --- scans -----------------------------------------------------------------------------------


def scan_start(
    *, root: SlideRoot, user: User | None = None, enqueue: Callable[[int], str] | None = None
) -> ScanJob:
    """Create a scan and (after commit) enqueue it; refuses a second active scan of a root."""
    with transaction.atomic():
        SlideRoot.objects.select_for_update().get(pk=root.pk)
        active = ScanJob.objects.filter(
            root=root, status__in=[ScanStatus.QUEUED, ScanStatus.RUNNING]
        ).first()
        if active:
            raise ServiceError(
                f"A scan of {root.name!r} is already {active.status} (scan {active.pk}).",
                code="scan_active",
                status_code=409,
            )
        scan = ScanJob.objects.create(root=root, created_by=user)
        if enqueue:
            transaction.on_commit(lambda: enqueue(scan.pk))
    return scan


def scan_walk(*, scan: ScanJob) -> list[str]:
    """Phase 1: list the root, settle unchanged and vanished slides, return paths to read."""
    root = scan.root
    root_path = Path(root.path)
    ScanJob.objects.filter(pk=scan.pk).update(status=ScanStatus.RUNNING, started_at=timezone.now())
    if not root_path.is_dir():
        raise ServiceError(f"The folder {root_path} does not exist or is not mounted.")

    known = {
        rel: (size, mtime, status)
        for rel, size, mtime, status in Slide.objects.filter(root=root)
        .values_list("relative_path", "size_bytes", "mtime", "status")
        .iterator(chunk_size=5000)
    }
    to_read: list[str] = []
    unchanged: list[str] = []
    for candidate in discover_slides(root_path):
        rel = candidate.relative_path
        before = known.pop(rel, None)
        try:
            size, mtime = stat_candidate(candidate)
        except OSError:
            size, mtime = -1, -1.0
        if before and before[2] != SlideStatus.MISSING and before[:2] == (size, mtime):
            unchanged.append(rel)
        else:
            to_read.append(rel)

    now = timezone.now()
    for start in range(0, len(unchanged), 1000):
        Slide.objects.filter(root=root, relative_path__in=unchanged[start : start + 1000]).update(
            last_seen_at=now
        )
    vanished = [rel for rel, (_, _, status) in known.items() if status != SlideStatus.MISSING]
    for start in range(0, len(vanished), 1000):
        Slide.objects.filter(root=root, relative_path__in=vanished[start : start + 1000]).update(
            status=SlideStatus.MISSING,
            failure_reason="The file was not found at the last scan (moved or deleted).",
        )
    ScanJob.objects.filter(pk=scan.pk).update(
        total=len(unchanged) + len(to_read),
        processed=len(unchanged),
        unchanged=len(unchanged),
        missing=len(vanished),
    )
    return to_read


def scan_add_progress(*, scan_id: int, counts: Counter) -> None:
    """Add one chunk's outcomes to the live counters (what the UI polls)."""
    ScanJob.objects.filter(pk=scan_id).update(
        processed=F("processed") + sum(counts.values()),
        registered=F("registered") + counts["registered"],
        moved=F("moved") + counts["moved"],
        failed=F("failed") + counts["failed"],
        unchanged=F("unchanged") + counts["unchanged"],
    )


def scan_finish(*, scan_id: int, chunk_counts: Iterable[dict]) -> ScanJob:
    """Phase 2 done: set exact totals from the chunk results and mark the scan succeeded."""
    scan = ScanJob.objects.get(pk=scan_id)
    total: Counter = Counter()
    for counts in chunk_counts:
        total.update(counts)
    read = sum(total.values())
    scan.registered, scan.moved, scan.failed = total["registered"], total["moved"], total["failed"]
    scan.unchanged = scan.total - read + total["unchanged"]
    scan.processed = scan.total
    # Vanished slides that turned out moved are registered again: count what is still missing.
    scan.missing = Slide.objects.filter(root_id=scan.root_id, status=SlideStatus.MISSING).count()
    scan.status = ScanStatus.SUCCEEDED
    scan.finished_at = timezone.now()
    scan.message = (
        f"{scan.total} slides found: {scan.registered} registered, {scan.moved} moved, "
        f"{scan.unchanged} unchanged, {scan.failed} failed; {scan.missing} missing."
    )
    scan.save()
    return scan


def scan_fail(*, scan_id: int, message: str) -> None:
    ScanJob.objects.filter(pk=scan_id).update(
        status=ScanStatus.FAILED, message=message, finished_at=timezone.now()
    )


def chunked(items: list[str], size: int) -> list[list[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def scan_run_inline(
    *, scan: ScanJob, chunk_size: int = 25, on_progress: Callable[[ScanJob], None] | None = None
) -> ScanJob:
    """Run a whole scan in this process (the CLI without a worker; tests)."""
    try:
        results = []
        for chunk in chunked(scan_walk(scan=scan), chunk_size):
            counts = register_paths(root=scan.root, relative_paths=chunk)
            scan_add_progress(scan_id=scan.pk, counts=counts)
            results.append(dict(counts))
            if on_progress:
                on_progress(ScanJob.objects.get(pk=scan.pk))
        return scan_finish(scan_id=scan.pk, chunk_counts=results)
    except ServiceError as exc:
        scan_fail(scan_id=scan.pk, message=exc.detail)
        raise
