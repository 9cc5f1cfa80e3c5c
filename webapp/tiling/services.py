"""Tiling runs: which slides, one Celery task per slide, progress, idempotence.

A slide already tiled with a configuration (status done, same content fingerprint, its file
present) is skipped; anything else is (re)tiled. The tile file is written atomically by
curation.tiling, so a killed task leaves no partial file and simply runs again when the
broker redelivers it.
"""

import json
import logging
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from django.conf import settings
from django.db import OperationalError, transaction
from django.db.models import F
from django.utils import timezone

from curation import tiling as curation_tiling
from curation.slide_metadata import SlideReadError
from curation.tile_store import remove_stale_temporaries, store_path
from webapp.core.errors import ServiceError
from webapp.slides.models import Slide, SlideStatus
from webapp.tiling.models import RunStatus, SlideTiling, TileStatus, TilingConfig, TilingRun

logger = logging.getLogger(__name__)
PROGRESS_EVERY_S = 2.0


def parse_params(params: dict) -> curation_tiling.TilingConfig:
    """The library's config for stored params; a ServiceError names a bad one."""
    if not isinstance(params or {}, dict):
        raise ServiceError(
            "The tiling parameters must be an object of {name: value}.", code="invalid_params"
        )
    if "\\u0000" in json.dumps(params or {}):
        raise ServiceError(
            "Tiling parameters may not contain NUL (0x00) characters.", code="invalid_params"
        )
    try:
        config = curation_tiling.TilingConfig.from_dict(params or {})
    except TypeError as exc:
        raise ServiceError(f"Unknown tiling parameter: {exc}.", code="invalid_params") from exc
    problems = []
    numbers = {
        "tile_size": config.tile_size,
        "target_mpp": config.target_mpp,
        "min_tissue_fraction": config.min_tissue_fraction,
        **({"stride": config.stride} if config.stride is not None else {}),
    }
    wrong = [k for k, v in numbers.items() if isinstance(v, bool) or not isinstance(v, int | float)]
    if wrong:
        raise ServiceError(f"{', '.join(wrong)} must be a number.", code="invalid_params")
    if not 16 <= config.tile_size <= 4096:
        problems.append("tile_size must be between 16 and 4096 px")
    if not 0.05 <= config.target_mpp <= 50:
        problems.append("target_mpp must be between 0.05 and 50 µm/px")
    if config.stride is not None and not 1 <= config.stride <= config.tile_size * 4:
        problems.append("stride must be between 1 and 4 × tile_size px")
    if not 0 <= config.min_tissue_fraction <= 1:
        problems.append("min_tissue_fraction must be between 0 and 1")
    if problems:
        raise ServiceError("; ".join(problems) + ".", code="invalid_params")
    return config


def config_create(*, name: str, params: dict, description: str = "", user=None) -> TilingConfig:
    config = parse_params(params)
    if TilingConfig.objects.filter(name=name).exists():
        raise ServiceError(
            f"A tiling configuration named {name!r} exists already.", code="duplicate"
        )
    return TilingConfig.objects.create(
        name=name,
        description=description,
        params=config.to_dict(),
        key=config.key(),
        created_by=user,
    )


def _selected_slides(*, slide_ids=None, group=None, untiled=False, config=None):
    slides = Slide.objects.filter(status=SlideStatus.REGISTERED)
    if slide_ids:
        slides = slides.filter(pk__in=slide_ids)
    if group is not None:
        from webapp.tagging.services.groups import group_condition

        slides = slides.filter(group_condition(group))
    if untiled:
        slides = slides.exclude(tilings__config=config, tilings__status=TileStatus.DONE)
    return slides


def run_start(
    *,
    config: TilingConfig,
    slide_ids: list[int] | None = None,
    group=None,
    untiled: bool = False,
    user=None,
    enqueue: Callable[[TilingRun], None] | None = None,
) -> TilingRun:
    """Create a run over the chosen registered slides; enqueue it after commit."""
    if not (slide_ids or group is not None or untiled):
        raise ServiceError("Choose slides, a group, or all untiled slides.", code="no_selection")
    slides = _selected_slides(slide_ids=slide_ids, group=group, untiled=untiled, config=config)
    ids = list(slides.order_by("pk").values_list("pk", flat=True))
    if not ids:
        raise ServiceError("No registered slide matches the selection.", code="no_slides")
    with transaction.atomic():
        run = TilingRun.objects.create(
            config=config,
            created_by=user,
            total=len(ids),
            selection={
                "slides": slide_ids or [],
                "group": getattr(group, "pk", None),
                "untiled": untiled,
            },
        )
        existing = {
            t.slide_id: t for t in SlideTiling.objects.filter(config=config, slide_id__in=ids)
        }
        SlideTiling.objects.bulk_create(
            [
                SlideTiling(slide_id=sid, config=config, run=run)
                for sid in ids
                if sid not in existing
            ],
            batch_size=2000,
        )
        SlideTiling.objects.filter(config=config, slide_id__in=ids).update(run=run, counted=False)
        if enqueue:
            transaction.on_commit(lambda: enqueue(run))
    return run


def _is_current(tiling: SlideTiling, slide: Slide) -> bool:
    return (
        tiling.status == TileStatus.DONE
        and tiling.fingerprint == slide.fingerprint
        and bool(tiling.path)
        and (settings.DATA_ROOT / tiling.path).is_file()
    )


def _count(tiling_id: int, run_id: int | None, field: str, tiles: int = 0) -> None:
    """Count a slide's outcome in its run, once: the conditional update claims the count, so
    a second copy of the slide's task (a redelivered dispatch) changes nothing."""
    if run_id is None:
        return
    claimed = SlideTiling.objects.filter(pk=tiling_id, run_id=run_id, counted=False).update(
        counted=True
    )
    if not claimed:
        return
    TilingRun.objects.filter(pk=run_id).update(
        **{field: F(field) + 1}, tile_count=F("tile_count") + tiles
    )
    run = TilingRun.objects.get(pk=run_id)
    if run.done + run.failed + run.skipped >= run.total and run.finished_at is None:
        status = (
            RunStatus.SUCCEEDED
            if not run.failed
            else (RunStatus.PARTIAL if run.done + run.skipped else RunStatus.FAILED)
        )
        TilingRun.objects.filter(pk=run_id, finished_at__isnull=True).update(
            status=status, finished_at=timezone.now()
        )


def slide_tile(
    *, tiling_id: int, workers: int = 1, on_progress: Callable[[int, int], None] | None = None
) -> SlideTiling:
    """Tile one slide under its configuration (the body of the Celery task and the CLI)."""
    tiling = SlideTiling.objects.select_related("slide__root", "config").get(pk=tiling_id)
    slide, config = tiling.slide, tiling.config
    run_id = tiling.run_id
    TilingRun.objects.filter(pk=run_id, started_at__isnull=True).update(
        started_at=timezone.now(), status=RunStatus.RUNNING
    )
    if _is_current(tiling, slide):
        _count(tiling_id, run_id, "skipped")
        return tiling
    out = store_path(settings.DATA_ROOT, config.key, slide.fingerprint or f"slide-{slide.pk}")
    out.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(out.parent)
    SlideTiling.objects.filter(pk=tiling_id).update(
        status=TileStatus.RUNNING, error="", tiles_done=0
    )
    last = [0.0]

    def progress(done: int, total: int) -> None:
        if on_progress:
            on_progress(done, total)
        if time.monotonic() - last[0] >= PROGRESS_EVERY_S or done == total:
            last[0] = time.monotonic()
            SlideTiling.objects.filter(pk=tiling_id).update(tiles_done=done, tiles_total=total)

    try:
        result = curation_tiling.tile_slide(
            slide.absolute_path,
            out,
            parse_params(config.params),
            mpp_override=slide.mpp_override,
            workers=workers,
            progress=progress,
            metadata={
                "slide_id": slide.pk,
                "relative_path": slide.relative_path,
                "fingerprint": slide.fingerprint,
                "config_name": config.name,
            },
        )
    except OperationalError:
        raise  # the database is away: the task retries
    except Exception as exc:  # noqa: BLE001 - one slide's failure must not stall its run
        if not isinstance(exc, SlideReadError):
            logger.exception("Tiling slide %s failed unexpectedly", slide.pk)
        reason = str(exc) if isinstance(exc, SlideReadError) else f"Unexpected error: {exc}"
        SlideTiling.objects.filter(pk=tiling_id).update(
            status=TileStatus.FAILED, error=reason, finished_at=timezone.now()
        )
        _count(tiling_id, run_id, "failed")
        return SlideTiling.objects.get(pk=tiling_id)
    SlideTiling.objects.filter(pk=tiling_id).update(
        status=TileStatus.DONE,
        error="",
        tile_count=result.tile_count,
        tissue_area_mm2=result.tissue_area_mm2,
        tiles_done=result.tile_count,
        tiles_total=result.tile_count,
        path=str(out.relative_to(settings.DATA_ROOT)),
        fingerprint=slide.fingerprint,
        seconds=result.seconds,
        finished_at=timezone.now(),
    )
    _count(tiling_id, run_id, "done", result.tile_count)
    return SlideTiling.objects.get(pk=tiling_id)


def run_tilings(run: TilingRun) -> Iterable[int]:
    return SlideTiling.objects.filter(run=run).order_by("pk").values_list("pk", flat=True)


def tiling_file(tiling: SlideTiling, suffix: str = "") -> Path:
    """The tile file (or, with suffix ".mask.png", the mask) of a finished tiling."""
    if tiling.status != TileStatus.DONE or not tiling.path:
        raise ServiceError(
            f"The slide's tiling is {tiling.status}; it has no tiles yet.",
            code="not_tiled",
            status_code=404,
        )
    path = settings.DATA_ROOT / tiling.path
    path = path.with_suffix(suffix) if suffix else path
    if not path.is_file():
        raise ServiceError(
            "The tile file is missing from the store.", code="missing", status_code=404
        )
    return path
