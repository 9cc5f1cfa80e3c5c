"""Cluster runs: launch, cancel, resume, lock and unlock, and telling a live run from one
whose worker died (a stale heartbeat). The work itself is in `execution`."""

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from curation.embeddings import EmbeddingModelSpec
from webapp.audit.services import audit_one
from webapp.clusters.models import ClusterRun, FeatureKind, RunStatus
from webapp.core.errors import ServiceError
from webapp.slides.models import Slide, SlideStatus
from webapp.tagging.models import SlideGroup
from webapp.tiling.models import SlideTiling, TileStatus, TilingConfig

# What the API calls the k-means parameters; `per_slide` is the sample size, not k-means'.
PARAM_NAMES = ("k", "per_slide", "iterations", "restarts", "spherical", "method", "levels", "seed")
FINISHED = (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED)
RESUMABLE = (RunStatus.INTERRUPTED, RunStatus.FAILED, RunStatus.CANCELLED)
MAX_PER_SLIDE = 100_000

Enqueue = Callable[[ClusterRun], None]


def run_dir(run: ClusterRun) -> Path:
    return settings.DATA_ROOT / run.folder


def kmeans_params(params: dict):
    """The library's KMeansParams for a run's stored params; a ServiceError names a bad one."""
    from curation.kmeans import KMeansParams  # FAISS loads only where clustering runs

    try:
        return KMeansParams.from_dict({k: v for k, v in params.items() if k != "per_slide"})
    except (TypeError, ValueError) as exc:
        raise ServiceError(f"Invalid clustering parameters: {exc}.", code="invalid_params") from exc


def embedding_spec(data: dict | None) -> EmbeddingModelSpec:
    if isinstance(data, dict) and "training_run" in data:
        from webapp.training.services.runs import embedding_spec_for

        data = embedding_spec_for(data["training_run"], batch_size=data.get("batch_size"))
    try:
        return EmbeddingModelSpec.from_dict(dict(data or {}))
    except (TypeError, ValueError) as exc:
        raise ServiceError(f"Invalid embedding model: {exc}.", code="invalid_params") from exc


def selected_slides(
    *, config: TilingConfig, slide_ids: list[int] | None, group: SlideGroup | None
) -> QuerySet[Slide]:
    """Registered slides of the selection (all of them when neither slides nor group)."""
    from webapp.tagging.services.groups import group_condition

    slides = Slide.objects.filter(status=SlideStatus.REGISTERED)
    if slide_ids:
        slides = slides.filter(pk__in=slide_ids)
    if group is not None:
        slides = slides.filter(group_condition(group))
    if not slide_ids and group is None:
        slides = slides.filter(tilings__config=config)
    return slides


def tiled(slides: QuerySet[Slide], config: TilingConfig) -> QuerySet[SlideTiling]:
    return SlideTiling.objects.filter(
        config=config, slide__in=slides, status=TileStatus.DONE
    ).exclude(path="")


def run_launch(
    *,
    actor,
    config: TilingConfig,
    feature_kind: str,
    params: dict,
    name: str = "",
    embedding_model: dict | None = None,
    slide_ids: list[int] | None = None,
    group: SlideGroup | None = None,
    enqueue: Enqueue | None = None,
) -> ClusterRun:
    """Validate, create the run (queued) and enqueue it after commit."""
    library = kmeans_params({k: params[k] for k in PARAM_NAMES if k in params})
    per_slide = params.get("per_slide", 500)
    if not isinstance(per_slide, int) or not 1 <= per_slide <= MAX_PER_SLIDE:
        raise ServiceError(
            f"per_slide must be between 1 and {MAX_PER_SLIDE:,}.", code="invalid_params"
        )
    chosen = library.to_dict()
    params = {k: per_slide if k == "per_slide" else chosen[k] for k in PARAM_NAMES}
    if feature_kind == FeatureKind.EMBEDDING:
        embedding_model = embedding_spec(embedding_model).to_dict()
    elif embedding_model:
        raise ServiceError(
            "An embedding model is only for feature kind 'embedding'.", code="invalid_params"
        )
    else:
        embedding_model = None
    slides = selected_slides(config=config, slide_ids=slide_ids, group=group)
    if not tiled(slides, config).exists():
        raise ServiceError(
            f"No slide of the selection is tiled with {config.name!r}; tile them first.",
            code="no_slides",
        )
    with transaction.atomic():
        run = ClusterRun.objects.create(
            name=name.strip() or f"{feature_kind.capitalize()} k={library.k}",
            config=config,
            feature_kind=feature_kind,
            embedding_model=embedding_model,
            params=params,
            selection={"slides": list(slide_ids or []), "group": getattr(group, "pk", None)},
            created_by=actor,
            message="Waiting for a worker.",
        )
        run.folder = f"clusters/run-{run.pk}"
        run.save(update_fields=["folder"])
        audit_one(
            actor=actor,
            action="cluster_run.launch",
            object_type="cluster_run",
            object_id=run.pk,
            after={"name": run.name, "params": params, "feature_kind": feature_kind},
        )
        if enqueue:
            transaction.on_commit(lambda: enqueue(run))
    return run


def runs_mark_interrupted() -> int:
    """Running runs whose worker has not reported for CLUSTER_HEARTBEAT_STALE_S become
    `interrupted` (resumable). Called by the run list and detail, so what people see is
    never a run that claims to run while nothing does."""
    stale = timezone.now() - timedelta(seconds=settings.CLUSTER_HEARTBEAT_STALE_S)
    return ClusterRun.objects.filter(
        Q(heartbeat_at__lt=stale) | Q(heartbeat_at__isnull=True, started_at__lt=stale),
        status=RunStatus.RUNNING,
    ).update(
        status=RunStatus.INTERRUPTED,
        message=(
            f"The worker stopped reporting (no heartbeat for over "
            f"{settings.CLUSTER_HEARTBEAT_STALE_S} s); resume the run to continue."
        ),
    )


def run_cancel(*, actor, run: ClusterRun) -> ClusterRun:
    """A queued or interrupted run stops at once; a running one at its next slide or phase."""
    with transaction.atomic():
        run = ClusterRun.objects.select_for_update().get(pk=run.pk)
        if run.status in FINISHED:
            raise ServiceError(
                f"The run has {run.status} already.", code="finished", status_code=409
            )
        run.cancel_requested = True
        if run.status == RunStatus.RUNNING:
            run.message = "Cancelling at the next slide or phase…"
        else:
            run.status = RunStatus.CANCELLED
            run.message = "Cancelled."
            run.finished_at = timezone.now()
        run.save(update_fields=["cancel_requested", "status", "message", "finished_at"])
        audit_one(
            actor=actor, action="cluster_run.cancel", object_type="cluster_run", object_id=run.pk
        )
    return run


def run_resume(*, actor, run: ClusterRun, enqueue: Enqueue | None = None) -> ClusterRun:
    """Queue an interrupted, failed or cancelled run again: it continues from its last
    finished phase. A bumped `attempt` makes any older delivery of its task stop."""
    runs_mark_interrupted()
    with transaction.atomic():
        run = ClusterRun.objects.select_for_update().get(pk=run.pk)
        if run.status not in RESUMABLE:
            raise ServiceError(
                f"Only an interrupted, failed or cancelled run can be resumed; this one is "
                f"{run.status}.",
                code="not_resumable",
                status_code=409,
            )
        before = run.status
        run.status = RunStatus.QUEUED
        run.attempt += 1
        run.cancel_requested = False
        run.error = ""
        run.finished_at = None
        run.message = "Resumed; waiting for a worker."
        run.save(
            update_fields=[
                "status",
                "attempt",
                "cancel_requested",
                "error",
                "finished_at",
                "message",
            ]
        )
        audit_one(
            actor=actor,
            action="cluster_run.resume",
            object_type="cluster_run",
            object_id=run.pk,
            before={"status": before},
            after={"status": run.status, "attempt": run.attempt},
        )
        if enqueue:
            transaction.on_commit(lambda: enqueue(run))
    return run


def run_set_locked(*, actor, run: ClusterRun, locked: bool) -> ClusterRun:
    """Lock for the final review (decisions and merges are refused), or unlock."""
    with transaction.atomic():
        run = ClusterRun.objects.select_for_update().get(pk=run.pk)
        if run.locked == locked:
            return run
        run.locked = locked
        run.locked_by = actor if locked else None
        run.locked_at = timezone.now() if locked else None
        run.save(update_fields=["locked", "locked_by", "locked_at"])
        audit_one(
            actor=actor,
            action="cluster_run.lock" if locked else "cluster_run.unlock",
            object_type="cluster_run",
            object_id=run.pk,
            before={"locked": not locked},
            after={"locked": locked},
        )
    return run


def run_share_lock(run_id: int) -> bool:
    """Take a share lock on the run row for the caller's transaction and say whether the run
    is locked. Decisions hold it while they write, so lock/unlock (FOR UPDATE) waits for
    them and they never slip in after a lock. (Django has no FOR SHARE.)"""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT locked FROM {ClusterRun._meta.db_table} WHERE id = %s FOR SHARE", [run_id]
        )
        row = cursor.fetchone()
    return bool(row and row[0])
