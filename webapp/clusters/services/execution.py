"""Executing a cluster run, phase by phase: embedding → sampling → training (+ map) →
assigning → summarising → indexing.

Each phase is idempotent and skipped when its output file is there already, so a redelivered
or resumed task continues where the last one stopped; every file is written atomically by
the library. Between slides and phases the run is checked: a cancel request stops it
(`cancelled`), a newer attempt (a resume) makes this one stop quietly. The heartbeat is
refreshed by progress and, in a worker, by a thread, so a dead worker shows as interrupted.
"""

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import OperationalError
from django.db.models import F
from django.utils import timezone

from curation import cluster_assign, cluster_map, similar_tiles
from curation.cluster_features import SlideSource, Standardiser, sample_features
from curation.embeddings import embed_slide, embedding_path, load_model, model_key
from curation.kmeans import faiss_gpu_available, train
from curation.slide_metadata import SlideReadError
from webapp.clusters.models import ClusterRun, FeatureKind, Phase, RunStatus
from webapp.clusters.services import summary
from webapp.clusters.services.runs import (
    embedding_spec,
    kmeans_params,
    run_dir,
    selected_slides,
)
from webapp.core.errors import ServiceError
from webapp.core.heartbeat import Heartbeat
from webapp.core.status import claim_run
from webapp.slides.models import Slide
from webapp.tagging.models import SlideGroup
from webapp.tiling.models import SlideTiling, TileStatus
from webapp.tiling.services import parse_params

logger = logging.getLogger(__name__)
PROGRESS_EVERY_S = 1.0
EXEMPLARS = 12
MAP_POINTS = 5000
PHASE_TEXT = {
    Phase.EMBEDDING: "Embedding tiles",
    Phase.SAMPLING: "Sampling tiles",
    Phase.TRAINING: "Training k-means",
    Phase.ASSIGNING: "Assigning tiles to clusters",
    Phase.SUMMARISING: "Summarising clusters",
    Phase.INDEXING: "Indexing tiles for similar-tile search",
}

PER_SLIDE = (Phase.EMBEDDING, Phase.ASSIGNING, Phase.INDEXING)


class RunError(Exception):
    """A run cannot go on for a reason the person who launched it can act on."""


class Stop(Exception):
    """The run was cancelled, or a newer attempt took over: stop without touching it."""


@dataclass
class Execution:
    run: ClusterRun
    attempt: int
    folder: Path
    failed: dict[int, str] = field(default_factory=dict)
    _last: float = 0.0

    # -- bookkeeping -------------------------------------------------------------------------

    def update(self, **fields) -> None:
        """Write to this attempt's run row; Stop when a newer attempt owns the run."""
        if not ClusterRun.objects.filter(pk=self.run.pk, attempt=self.attempt).update(**fields):
            raise Stop
        for name, value in fields.items():
            if not hasattr(value, "resolve_expression"):
                setattr(self.run, name, value)

    def check(self) -> None:
        """Between slides and phases: stop when cancelled or superseded."""
        state = ClusterRun.objects.filter(pk=self.run.pk).values("attempt", "cancel_requested")
        state = state.first()
        if state is None or state["attempt"] != self.attempt:
            raise Stop
        if state["cancel_requested"]:
            self.update(
                status=RunStatus.CANCELLED,
                message=f"Cancelled during {self.run.phase or 'start-up'}.",
                finished_at=timezone.now(),
            )
            raise Stop

    def phase(self, phase: str, total: int = 0, done: int = 0) -> None:
        self.check()
        self._last = time.monotonic()
        self.update(
            phase=phase,
            progress_done=done,
            progress_total=total,
            message=self.message(phase, done, total),
            heartbeat_at=timezone.now(),
        )

    def tick(self, done: int, total: int) -> None:
        """A library progress callback after each slide: at most one write and one cancel
        check per PROGRESS_EVERY_S, however many small slides fly by."""
        if time.monotonic() - self._last >= PROGRESS_EVERY_S or done >= total:
            self._last = time.monotonic()
            self.update(
                progress_done=done,
                progress_total=total,
                message=self.message(self.run.phase, done, total),
                heartbeat_at=timezone.now(),
            )
            self.check()

    def message(self, phase: str, done: int = 0, total: int = 0) -> str:
        text = PHASE_TEXT.get(phase, "Working")
        if phase in PER_SLIDE and total:
            text += f": slide {done:,} of {total:,}"
        return f"{text}.{self.notes()}"

    def notes(self) -> str:
        parts = []
        if self.run.skipped_slides:
            parts.append(
                f"{self.run.skipped_slides:,} slide(s) skipped: not tiled with this configuration"
            )
        if self.failed:
            parts.append(f"{len(self.failed):,} slide(s) failed")
        return "".join(f" {p}." for p in parts)

    def record_failures(self, failures: Iterable[tuple[int, str]]) -> None:
        new = {int(sid): reason for sid, reason in failures if int(sid) not in self.failed}
        if new:
            self.failed.update(new)
            self.update(failed_slides=[[sid, reason] for sid, reason in self.failed.items()])


# -- the phases -------------------------------------------------------------------------------


def _sources(ex: Execution) -> list[SlideSource]:
    """The run's slides, frozen in slides.parquet on first execution: selected registered
    slides with a finished tiling; slides without one are counted as skipped, ones whose
    tile file has vanished are reported as failed."""
    folder, run = ex.folder, ex.run
    if (folder / "slides.parquet").is_file():
        return cluster_assign.read_sources(folder, data_root=settings.DATA_ROOT)
    group = None
    if run.selection.get("group"):
        group = SlideGroup.objects.filter(pk=run.selection["group"]).first()
        if group is None:
            raise RunError("The slide group of the selection has been deleted.")
    slides = selected_slides(
        config=run.config, slide_ids=run.selection.get("slides") or None, group=group
    )
    selected = slides.count()
    tilings = (
        SlideTiling.objects.filter(config=run.config, slide__in=slides, status=TileStatus.DONE)
        .exclude(path="")
        .order_by("slide_id")
        .values_list("slide_id", "path", "fingerprint")
    )
    key = None
    if run.feature_kind == FeatureKind.EMBEDDING:
        try:
            key = model_key(embedding_spec(run.embedding_model))
        except ValueError as exc:
            raise RunError(f"The embedding model cannot be used: {exc}") from exc
    sources, missing = [], []
    for slide_id, path, fingerprint in tilings:
        tile_path = settings.DATA_ROOT / path
        if not tile_path.is_file():
            missing.append((slide_id, "The tile file is missing from the store; tile it again."))
            continue
        fingerprint = fingerprint or f"slide-{slide_id}"
        sources.append(
            SlideSource(
                slide_index=len(sources),
                slide_id=slide_id,
                fingerprint=fingerprint,
                tile_path=tile_path,
                embedding_path=(
                    embedding_path(settings.DATA_ROOT, key, run.config.key, fingerprint)
                    if key
                    else None
                ),
            )
        )
    ex.update(skipped_slides=selected - len(sources) - len(missing))
    ex.record_failures(missing)
    if not sources:
        raise RunError("No slide of the selection has a usable tile file.")
    cluster_assign.write_sources(folder, sources, data_root=settings.DATA_ROOT)
    return sources


def _embed(ex: Execution, sources: list[SlideSource]) -> None:
    """Embed the slides whose .npy is not there yet (shared between runs of a model)."""
    todo = [s for s in sources if not s.embedding_path.is_file()]
    ex.phase(Phase.EMBEDDING, total=len(sources), done=len(sources) - len(todo))
    if not todo:
        return
    spec = embedding_spec(ex.run.embedding_model)
    tiling = parse_params(ex.run.config.params)
    slides = Slide.objects.select_related("root").in_bulk([s.slide_id for s in todo])
    try:
        model = load_model(spec)
    except ValueError as exc:
        raise RunError(f"The embedding model cannot be loaded: {exc}") from exc
    ex.update(device="gpu" if model.device.type == "cuda" else "cpu")
    for done, source in enumerate(todo, start=len(sources) - len(todo) + 1):
        slide = slides.get(source.slide_id)
        try:
            if slide is None:
                raise ValueError("the slide has been deleted")
            embed_slide(
                slide.absolute_path,
                source.tile_path,
                source.embedding_path,
                model,
                tile_size=tiling.tile_size,
                target_mpp=tiling.target_mpp,
                mpp_override=slide.mpp_override,
            )
        except (SlideReadError, OSError, ValueError) as exc:
            ex.record_failures([(source.slide_id, f"Embedding failed: {exc}")])
        ex.tick(done, len(sources))


def _train(ex: Execution, sources: list[SlideSource]) -> cluster_assign.Assigner:
    """Sample, train and save the model, then project the sample onto the 2-D map. Skipped
    when model.npz and map.parquet exist (a resumed run)."""
    folder, run = ex.folder, ex.run
    params = kmeans_params(run.params)
    have_model = (folder / "model.npz").is_file()
    if not (have_model and (folder / cluster_map.MAP_FILE).is_file()):
        ex.phase(Phase.SAMPLING, total=1)
        try:
            sample = sample_features(
                sources,
                run.feature_kind,
                per_slide=run.params["per_slide"],
                seed=params.seed,
                skip_unreadable=True,
            )
        except ValueError as exc:
            raise RunError(f"Sampling failed: {exc}") from exc
        ex.record_failures(sample.failed)
        if not have_model:
            if len(sample.features) < params.k:
                raise RunError(
                    f"The sample holds {len(sample.features):,} tiles, fewer than k = "
                    f"{params.k}; lower k or sample more tiles per slide."
                )
            ex.phase(Phase.TRAINING, total=1)
            standardiser = Standardiser.fit(sample.features)
            result = train(standardiser.transform(sample.features), params)
            # The row first: a run killed once model.npz exists resumes without training,
            # so the model's inertia and device must already be on the row by then.
            ex.update(device=result.device, inertia=result.inertia)
            cluster_assign.save_model(folder, result, standardiser, params, run.feature_kind)
        assigner = _assigner(folder)
        labels, _ = assigner.assign(sample.features)
        projection = cluster_map.project_2d(
            assigner.centroids,
            assigner.transform(sample.features),
            labels,
            max_points=MAP_POINTS,
            seed=params.seed,
        )
        cluster_map.write_map(folder, projection)
        return assigner
    return _assigner(folder)


def _assigner(folder: Path) -> cluster_assign.Assigner:
    centroids, standardiser, params, _ = cluster_assign.load_model(folder)
    return cluster_assign.Assigner(centroids, standardiser, spherical=params.spherical)


def _assign(ex: Execution, sources: list[SlideSource], assigner) -> None:
    """Label every tile and write the summaries (skipped when clusters.parquet exists)."""
    if (ex.folder / "clusters.parquet").is_file():
        return
    ex.phase(Phase.ASSIGNING, total=len(sources))
    result = cluster_assign.assign_sources(
        sources,
        ex.run.feature_kind,
        assigner,
        ex.folder,
        exemplars=EXEMPLARS,
        seed=ex.run.params["seed"],
        progress=ex.tick,
    )
    # Recorded before the summary files: a resume that skips this phase still has them.
    ex.record_failures(result.failed)
    if not result.tile_count:
        raise RunError("No slide could be assigned; see the failed slides.")
    ex.update(slide_count=result.slide_count, tile_count=result.tile_count)
    cluster_assign.write_summary(ex.folder, result)


def _index(ex: Execution, sources: list[SlideSource], assigner) -> str:
    """Build the similar-tile index; its failure leaves the clusters usable, so it is only
    reported."""
    if (ex.folder / similar_tiles.INDEX_FILE).is_file():
        return ""
    ex.phase(Phase.INDEXING, total=len(sources))
    try:
        similar_tiles.build_index(
            sources, ex.run.feature_kind, assigner, ex.folder, progress=ex.tick
        )
    except (ValueError, RuntimeError) as exc:
        logger.warning("Similar-tile index of cluster run %s failed: %s", ex.run.pk, exc)
        return f" Similar-tile search is unavailable: {exc}."
    return ""


def _phases(ex: Execution) -> None:
    ex.folder.mkdir(parents=True, exist_ok=True)
    if not ex.run.device:  # what training will use; embedding and training say what ran
        ex.update(device="gpu" if faiss_gpu_available() else "cpu")
    sources = _sources(ex)
    if ex.run.feature_kind == FeatureKind.EMBEDDING:
        _embed(ex, sources)
    assigner = _train(ex, sources)
    _assign(ex, sources, assigner)
    ex.phase(Phase.SUMMARISING, total=1)
    summary.clusters_upsert(ex.run, ex.folder)
    note = _index(ex, sources, assigner)
    ex.check()
    ex.update(
        status=RunStatus.SUCCEEDED,
        phase=Phase.DONE,
        progress_done=F("progress_total"),
        finished_at=timezone.now(),
        heartbeat_at=timezone.now(),
        message=(
            f"{ex.run.tile_count:,} tiles of {ex.run.slide_count:,} slide(s) in "
            f"{ex.run.params['k']} clusters.{ex.notes()}{note}"
        ),
    )


# -- entry point ------------------------------------------------------------------------------


def alive_elsewhere(run_id: int, attempt: int) -> bool:
    """Whether another worker is running this attempt now (running, heartbeat fresh)."""
    fresh = timezone.now() - timedelta(seconds=settings.CLUSTER_HEARTBEAT_STALE_S)
    return ClusterRun.objects.filter(
        pk=run_id, attempt=attempt, status=RunStatus.RUNNING, heartbeat_at__gte=fresh
    ).exists()


def run_execute(
    run_id: int, *, attempt: int | None = None, heartbeat_thread: bool = False
) -> ClusterRun:
    """Run (or continue) a cluster run; the body of the Celery task, callable directly.

    Returns the run as it ends. A run that is finished, cancelled or owned by a newer
    attempt is left alone; a database outage propagates (the task retries); any other
    failure marks the run failed with the reason.
    """
    run = ClusterRun.objects.select_related("config").get(pk=run_id)
    attempt = run.attempt if attempt is None else attempt
    if not claim_run(ClusterRun, run_id, attempt):
        return ClusterRun.objects.get(pk=run_id)
    run.refresh_from_db()
    ex = Execution(run=run, attempt=attempt, folder=run_dir(run))
    ex.failed = {int(sid): reason for sid, reason in run.failed_slides}
    beat = Heartbeat(
        # Only this attempt's row, and only while it runs (a resume bumps the attempt).
        ClusterRun.objects.filter(
            pk=run_id,
            attempt=attempt,
            status__in=[RunStatus.RUNNING, RunStatus.INTERRUPTED],
        ),
        settings.CLUSTER_HEARTBEAT_EVERY_S,
        status=RunStatus.RUNNING,
        enabled=heartbeat_thread,
    )
    try:
        beat.start()
        _phases(ex)
    except Stop:
        pass
    except OperationalError:
        raise
    except (RunError, ServiceError) as exc:
        _fail(ex, str(getattr(exc, "detail", exc)))
    except Exception as exc:  # noqa: BLE001 - any failure must end as a visible reason
        logger.exception("Cluster run %s failed", run_id)
        _fail(ex, f"Unexpected error: {type(exc).__name__}: {exc}")
    finally:
        beat.stop()
    return ClusterRun.objects.get(pk=run_id)


def _fail(ex: Execution, reason: str) -> None:
    ClusterRun.objects.filter(pk=ex.run.pk, attempt=ex.attempt).update(
        status=RunStatus.FAILED,
        error=reason,
        message=f"Failed during {ex.run.phase or 'start-up'}.{ex.notes()}",
        finished_at=timezone.now(),
    )
