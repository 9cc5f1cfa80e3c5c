"""Building a dataset version: the body of the `datasets.build_version` task.

`version_build_start` checks what can be checked at once (the run has succeeded, the
recipe resolves, weights do not sum to zero, no unreviewed cluster unless included: 409
`unreviewed`), marks the version `building` and enqueues the task after commit.
`version_build` then freezes the state of the inputs on the version, lists the run's slides
with the first recipe group that has each one, lets the library sample and write the
manifest, writes its CSV and JSON Lines copies and the stats, and records the checksum.
A budget larger than what exists builds what exists and says so (`shortfall`, message).
Afterwards the version is immutable. A redelivered task rebuilds (every file is written
atomically, the result is deterministic); one superseded by a newer build stops.
"""

import json
import logging
import time
from datetime import timedelta
from pathlib import PurePosixPath

from django.conf import settings
from django.db import OperationalError, transaction
from django.utils import timezone

from curation import manifest as mf
from curation.atomic import atomic_write
from curation.dataset_sampling import QualityFilter, Recipe, SlideInput, build_manifest
from webapp.audit.services import audit_one
from webapp.clusters.services.runs import run_dir
from webapp.core.errors import ServiceError
from webapp.core.heartbeat import Heartbeat
from webapp.datasets.models import DatasetVersion, VersionStatus
from webapp.datasets.services import inputs
from webapp.datasets.services.recipes import (
    Resolved,
    buildable,
    recipe_clean,
    resolve,
    run_check,
)
from webapp.datasets.services.versions import EDITABLE, version_dir
from webapp.slides.models import Slide
from webapp.tagging.models import SlideTag

logger = logging.getLogger(__name__)
PROGRESS_EVERY_S = 1.0
FILES = {"parquet": "manifest.parquet", "csv": "manifest.csv", "jsonl": "manifest.jsonl"}
TAG_KEYS = ("case", "lab", "scanner", "stain")


class Stop(Exception):
    """A newer build owns the version: stop without touching it."""


def version_build_start(*, actor, version: DatasetVersion, enqueue=None) -> DatasetVersion:
    """Check, mark building and enqueue (after commit). 409 when the version is not a
    draft (or a failed build), 409 `unreviewed`, 400 for a recipe that cannot build."""
    with transaction.atomic():
        version = (
            DatasetVersion.objects.select_for_update()
            .select_related("cluster_run")
            .get(pk=version.pk)
        )
        if version.status not in EDITABLE:
            raise ServiceError(
                f"Version {version.pk} is {version.status}; only a draft can be built "
                "(clone a built version to rebuild it).",
                code="immutable",
                status_code=409,
            )
        recipe = recipe_clean(version.recipe)
        run_check(version.cluster_run)
        buildable(resolve(version.cluster_run, recipe), recipe)
        version.status = VersionStatus.BUILDING
        version.attempt += 1
        version.built_by = actor
        version.error = ""
        version.message = "Waiting for a worker."
        version.progress_done = version.progress_total = 0
        version.heartbeat_at = None
        version.save()
        audit_one(
            actor=actor,
            action="dataset.build",
            object_type="dataset_version",
            object_id=version.pk,
            after={"recipe": recipe, "cluster_run": version.cluster_run_id},
        )
        if enqueue:
            transaction.on_commit(lambda: enqueue(version))
    return version


def versions_mark_stale() -> int:
    """Builds whose worker stopped reporting for DATASET_HEARTBEAT_STALE_S fail, with a
    message saying to build again (called by the list and the detail)."""
    stale = timezone.now() - timedelta(seconds=settings.DATASET_HEARTBEAT_STALE_S)
    return DatasetVersion.objects.filter(
        status=VersionStatus.BUILDING, heartbeat_at__lt=stale
    ).update(
        status=VersionStatus.FAILED,
        error="The worker stopped reporting during the build.",
        message="The build was interrupted; build it again.",
    )


class _Build:
    def __init__(self, version: DatasetVersion, attempt: int):
        self.version, self.attempt, self._last = version, attempt, 0.0

    def update(self, **fields) -> None:
        done = DatasetVersion.objects.filter(
            pk=self.version.pk, attempt=self.attempt, status=VersionStatus.BUILDING
        ).update(heartbeat_at=timezone.now(), **fields)
        if not done:
            raise Stop

    def tick(self, done: int, total: int) -> None:
        if time.monotonic() - self._last >= PROGRESS_EVERY_S or done >= total:
            self._last = time.monotonic()
            self.update(
                progress_done=done,
                progress_total=total,
                message=(
                    f"Counting eligible tiles: slide {done:,} of {total // 2:,}."
                    if done <= total // 2
                    else f"Drawing tiles: slide {done - total // 2:,} of {total // 2:,}."
                ),
            )


def _tags(slide_ids) -> dict[int, dict[str, str]]:
    """slide id → {category key: term name} for the case, lab, scanner and stain tags (the
    first term of a multi-valued category)."""
    out: dict[int, dict[str, str]] = {}
    rows = (
        SlideTag.objects.filter(slide_id__in=slide_ids, term__category__key__in=TAG_KEYS)
        .order_by("slide_id", "term__name")
        .values_list("slide_id", "term__category__key", "term__name")
    )
    for sid, key, name in rows:
        out.setdefault(sid, {}).setdefault(key, name)
    return out


def library_recipe(recipe: dict, resolved: Resolved) -> Recipe:
    return Recipe(
        group_weights=resolved.group_weights,
        category_weights=resolved.category_weights,
        budget=recipe["budget"],
        per_slide_cap=recipe["per_slide_cap"],
        quality=QualityFilter(**recipe["quality"]),
        split_by=recipe["split"]["by"],
        validation_fraction=recipe["split"]["validation_fraction"],
        seed=recipe["seed"],
    )


def _slides(version: DatasetVersion, resolved: Resolved, members) -> tuple[list, dict, list]:
    """The SlideInputs (in slide id order), the slides' attributes for the stats, notes."""
    from curation.cluster_assign import labels_path, read_sources  # loads FAISS: workers only

    run = version.cluster_run
    folder = run_dir(run)
    try:
        sources = read_sources(folder, data_root=settings.DATA_ROOT)
    except (OSError, ValueError) as exc:
        raise ServiceError("The cluster run's files cannot be read.", code="run_files") from exc
    group_of = inputs.slide_groups(resolved, members, [s.slide_id for s in sources])
    slides = Slide.objects.select_related("root").in_bulk(list(group_of))
    tags = _tags(list(group_of))
    out, notes, no_mpp = [], [], 0
    for source in sorted(sources, key=lambda s: s.slide_id):
        slide = slides.get(source.slide_id)
        if source.slide_id not in group_of or slide is None:
            continue
        mpp = slide.mpp_override or slide.mpp_x
        if not mpp:
            no_mpp += 1
            continue
        folder_key = f"{slide.root_id}/{PurePosixPath(slide.relative_path).parent}"
        out.append(
            SlideInput(
                slide_id=source.slide_id,
                fingerprint=source.fingerprint,
                slide_path=str(slide.absolute_path),
                group=group_of[source.slide_id],
                case_key=tags.get(source.slide_id, {}).get("case") or folder_key,
                tile_path=source.tile_path,
                labels_path=labels_path(folder, source.fingerprint),
                mpp=float(mpp),
            )
        )
    if no_mpp:
        notes.append(f"{no_mpp:,} slide(s) left out: no microns per pixel known.")
    outside = len(sources) - len(group_of)
    if outside:
        notes.append(f"{outside:,} slide(s) of the run are in none of the recipe's groups.")
    attributes = {sid: {k: v for k, v in t.items() if k != "case"} for sid, t in tags.items()}
    return out, attributes, notes


def remove_dead_temporaries(folder) -> int:
    """Delete the hidden temporaries (`.<name>.<uuid>.tmp`, curation.atomic) that a worker
    killed mid-write left in a build's or an export's own folder; readers never see them,
    but nothing else would remove them. Only those untouched for DATASET_HEARTBEAT_STALE_S
    go: a live writer's temporary is still growing."""
    cutoff = time.time() - settings.DATASET_HEARTBEAT_STALE_S
    removed = 0
    for path in folder.glob(".*.tmp"):
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except FileNotFoundError:
            continue
    return removed


def _write_stats(folder, stats: dict) -> None:
    with atomic_write(folder / "stats.json") as tmp:
        tmp.write_text(json.dumps(stats, indent=1, sort_keys=True))


def _run(build: _Build) -> None:
    version = build.version
    run = version.cluster_run
    recipe = recipe_clean(version.recipe)
    run_check(run)
    resolved = resolve(run, recipe)
    buildable(resolved, recipe)
    members = inputs.group_members(resolved)
    build.update(inputs=inputs.inputs_state(run, resolved, members), message="Choosing slides.")
    slides, attributes, notes = _slides(version, resolved, members)
    if not slides:
        raise ServiceError("No slide of the run is in the recipe's groups.", code="no_slides")
    folder = version_dir(version)
    folder.mkdir(parents=True, exist_ok=True)
    remove_dead_temporaries(folder)  # a killed earlier attempt's
    result = build_manifest(
        slides,
        resolved.category_of,
        library_recipe(recipe, resolved),
        folder / FILES["parquet"],
        progress=build.tick,
        slide_attributes=attributes,
    )
    build.update(message="Writing CSV and JSON Lines copies.")
    mf.write_csv(folder / FILES["parquet"], folder / FILES["csv"])
    mf.write_jsonl(folder / FILES["parquet"], folder / FILES["jsonl"])
    shortfall = int(result.shortfall)
    notes = [*resolved.notes, *notes]
    if shortfall:
        notes.append(
            f"The budget asked for {recipe['budget']:,} tiles; {shortfall:,} did not exist "
            "(eligible tiles ran out in some group × category cells)."
        )
    stats = {**result.stats, "shortfall": shortfall, "notes": [*notes, *result.notes]}
    _write_stats(folder, stats)
    message = f"{result.rows:,} tiles from {stats['slides']:,} slide(s)."
    if shortfall:
        message += f" The budget asked for {recipe['budget']:,}: {shortfall:,} did not exist."
    build.update(
        status=VersionStatus.BUILT,
        checksum=result.checksum,
        row_count=result.rows,
        shortfall=shortfall,
        stats=stats,
        message=message,
        built_at=timezone.now(),
        progress_done=2 * len(slides),
        progress_total=2 * len(slides),
    )


def version_build(
    version_id: int, *, attempt: int | None = None, heartbeat_thread: bool = False
) -> DatasetVersion:
    """Build a version marked `building`; the body of the Celery task, callable directly.
    A database outage propagates (the task retries); any other failure marks the version
    failed with the reason."""
    version = DatasetVersion.objects.select_related("cluster_run__config").get(pk=version_id)
    attempt = version.attempt if attempt is None else attempt
    build = _Build(version, attempt)
    beat = Heartbeat(
        DatasetVersion.objects.filter(
            pk=version_id, attempt=attempt, status=VersionStatus.BUILDING
        ),
        settings.DATASET_HEARTBEAT_EVERY_S,
        enabled=heartbeat_thread,
    )
    try:
        beat.start()
        build.update(message="Building.", progress_done=0, progress_total=0)
        _run(build)
    except Stop:
        pass
    except OperationalError:
        raise
    except ServiceError as exc:
        _fail(version, attempt, exc.detail)
    except Exception as exc:  # noqa: BLE001 - any failure must end as a visible reason
        logger.exception("Building dataset version %s failed", version_id)
        _fail(version, attempt, f"Unexpected error: {type(exc).__name__}: {exc}")
    finally:
        beat.stop()
    return DatasetVersion.objects.get(pk=version_id)


def _fail(version: DatasetVersion, attempt: int, reason: str) -> None:
    DatasetVersion.objects.filter(
        pk=version.pk, attempt=attempt, status=VersionStatus.BUILDING
    ).update(status=VersionStatus.FAILED, error=reason, message="The build failed.")


def manifest_path(version: DatasetVersion, fmt: str):
    return version_dir(version) / FILES[fmt]
