"""Training runs: presets, launch (the recipe resolved and validated here, so a bad request
is a 400 and not a failed run), cancel, resume, telling a live run from one whose worker
died (a stale heartbeat), and the exported backbone. The work itself is in `execution`.

The trainer is imported inside functions: it loads torch, which the web process only needs
when someone launches a run or lists the presets."""

import dataclasses
import json
import os
import shutil
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from webapp.audit.services import audit_one
from webapp.core.errors import NotFound, ServiceError
from webapp.datasets.models import DatasetVersion, VersionStatus
from webapp.training.models import RunStatus as S
from webapp.training.models import TrainingMetric, TrainingRun

FINISHED = (S.SUCCEEDED, S.FAILED, S.CANCELLED)
RESUMABLE = (S.INTERRUPTED, S.FAILED, S.CANCELLED)
CANCELLABLE = (S.QUEUED, S.RUNNING, S.INTERRUPTED)
BACKBONE = "backbone.safetensors"
CARD = "backbone.json"
MAX_STEPS = 100_000_000  # far beyond any run; keeps step counts inside the integer columns

Enqueue = Callable[[TrainingRun], None]


def run_dir(run: TrainingRun) -> Path:
    return settings.DATA_ROOT / run.folder


# -- recipes ----------------------------------------------------------------------------------


def presets() -> list[dict]:
    from trainer.train.recipe import PRESETS

    out = []
    for name, make in PRESETS.items():
        doc = " ".join((make.__doc__ or "").split())
        out.append({"name": name, "description": doc, "recipe": make().to_dict()})
    return out


def _fits(value, default) -> bool:
    """Whether an override has the type of the preset's value (JSON types: an int is a
    float, a list is a tuple); the Recipe itself checks only a few ranges."""
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, int):
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(default, float):
        return isinstance(value, int | float) and not isinstance(value, bool)
    if isinstance(default, tuple):
        return (
            isinstance(value, list | tuple)
            and len(value) == len(default)
            and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
        )
    if isinstance(default, dict):
        return isinstance(value, dict)
    if isinstance(default, str) or default is None:
        return isinstance(value, str) or value is None
    return True


def recipe_resolve(
    preset: str, *, model: str | None = None, weights: str | None = None, overrides=None
) -> dict:
    """The full recipe: the preset, then the model and weights, then the overrides; a
    ServiceError (400) names an unknown preset, an unknown field or a bad value."""
    from trainer.train.recipe import PRESETS, Recipe

    if preset not in PRESETS:
        raise ServiceError(
            f"Unknown preset {preset!r}; choose one of {', '.join(PRESETS)}.",
            code="unknown_preset",
        )
    overrides = {} if overrides is None else overrides
    if not isinstance(overrides, dict):
        raise ServiceError("overrides must be an object of recipe fields.", code="invalid_recipe")
    base = PRESETS[preset]()
    fields = {f.name for f in dataclasses.fields(Recipe)}
    unknown = sorted(set(overrides) - fields)
    if unknown:
        raise ServiceError(f"Unknown recipe field(s): {', '.join(unknown)}.", code="invalid_recipe")
    changes = dict(overrides)
    if model:
        changes["model"] = model
    if weights:
        changes["weights"] = weights
    for key, value in changes.items():
        default = getattr(base, key)
        if not _fits(value, default):
            raise ServiceError(
                f"Recipe field {key}: {value!r} is not a valid value (the preset has "
                f"{json.dumps(default) if not isinstance(default, tuple) else list(default)}).",
                code="invalid_recipe",
            )
    try:
        recipe = Recipe.from_dict({**base.to_dict(), **changes})
    except (TypeError, ValueError) as exc:
        raise ServiceError(f"Invalid recipe: {exc}.", code="invalid_recipe") from exc
    for key in ("total_steps", "batch_size", "steps_per_epoch", "checkpoint_every"):
        if not 1 <= getattr(recipe, key) <= MAX_STEPS:
            raise ServiceError(
                f"Recipe field {key} must be between 1 and {MAX_STEPS:,}.", code="invalid_recipe"
            )
    return recipe.to_dict()


def changed_fields(recipe: dict, preset: str) -> dict:
    """The recipe fields that differ from the preset: what the trainer gets as --set."""
    from trainer.train.recipe import PRESETS

    base = PRESETS[preset]().to_dict()
    return {k: v for k, v in recipe.items() if base.get(k, object()) != v}


# -- launch, cancel, resume -------------------------------------------------------------------


def run_launch(
    *,
    actor,
    name: str,
    dataset_version: DatasetVersion,
    preset: str,
    model: str | None = None,
    weights: str | None = None,
    overrides: dict | None = None,
    eval_folder: str = "",
    enqueue: Enqueue | None = None,
) -> TrainingRun:
    """Validate, create the run (queued) and enqueue it after commit."""
    name = (name or "").strip()
    if not name:
        raise ServiceError("Give the training run a name.", code="invalid")
    if dataset_version.status != VersionStatus.BUILT:
        raise ServiceError(
            f"Dataset version {dataset_version.pk} is {dataset_version.status}; train on a "
            "built version.",
            code="not_built",
        )
    recipe = recipe_resolve(preset, model=model, weights=weights, overrides=overrides)
    with transaction.atomic():
        run = TrainingRun.objects.create(
            name=name[:200],
            dataset_version=dataset_version,
            preset=preset,
            model=recipe["model"],
            recipe=recipe,
            eval_folder=(eval_folder or "").strip(),
            total_steps=recipe["total_steps"],
            created_by=actor,
            message="Waiting for a GPU worker.",
        )
        run.folder = f"training/run-{run.pk}"
        run.save(update_fields=["folder"])
        audit_one(
            actor=actor,
            action="training_run.launch",
            object_type="training_run",
            object_id=run.pk,
            after={
                "name": run.name,
                "dataset_version": dataset_version.pk,
                "preset": preset,
                "changes": changed_fields(recipe, preset),
            },
        )
        if enqueue:
            transaction.on_commit(lambda: enqueue(run))
    return run


def runs_mark_interrupted() -> int:
    """Running runs whose worker has not reported for TRAINING_HEARTBEAT_STALE_S become
    `interrupted` (resumable). Called by the run list and detail, so nobody sees a run
    that claims to train while nothing does."""
    stale = timezone.now() - timedelta(seconds=settings.TRAINING_HEARTBEAT_STALE_S)
    return TrainingRun.objects.filter(
        Q(heartbeat_at__lt=stale) | Q(heartbeat_at__isnull=True, started_at__lt=stale),
        status=S.RUNNING,
    ).update(
        status=S.INTERRUPTED,
        message=(
            f"The worker stopped reporting (no heartbeat for over "
            f"{settings.TRAINING_HEARTBEAT_STALE_S} s); resume the run to continue from its "
            "last checkpoint."
        ),
    )


def run_cancel(*, actor, run: TrainingRun) -> TrainingRun:
    """A queued or interrupted run stops at once; a running one before its next step (the
    trainer saves a checkpoint and exports the backbone, so it can be resumed)."""
    runs_mark_interrupted()
    with transaction.atomic():
        run = TrainingRun.objects.select_for_update().get(pk=run.pk)
        if run.status not in CANCELLABLE:
            raise ServiceError(
                f"The run has {run.status} already.", code="not_running", status_code=409
            )
        run.cancel_requested = True
        if run.status == S.RUNNING:
            run.message = "Stopping after the current step…"
        else:
            run.status = S.CANCELLED
            run.message = "Cancelled."
            run.finished_at = timezone.now()
        run.save(update_fields=["cancel_requested", "status", "message", "finished_at"])
        audit_one(
            actor=actor, action="training_run.cancel", object_type="training_run", object_id=run.pk
        )
    return run


def checkpoint_step(run: TrainingRun) -> int | None:
    """The step of the run's latest checkpoint (checkpoints/latest.json), None without one."""
    try:
        data = json.loads((run_dir(run) / "checkpoints" / "latest.json").read_text())
        return int(data["step"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def run_resume(*, actor, run: TrainingRun, enqueue: Enqueue | None = None) -> TrainingRun:
    """Queue an interrupted, failed or cancelled run again: the trainer continues from its
    latest checkpoint. The metric rows past that step go (the trainer drops those lines and
    logs the steps again); a bumped `attempt` makes any older delivery of the task stop."""
    runs_mark_interrupted()
    with transaction.atomic():
        run = TrainingRun.objects.select_for_update().get(pk=run.pk)
        if run.status not in RESUMABLE:
            raise ServiceError(
                f"Only an interrupted, failed or cancelled run can be resumed; this one is "
                f"{run.status}.",
                code="not_resumable",
                status_code=409,
            )
        before = run.status
        step = checkpoint_step(run)
        TrainingMetric.objects.filter(run=run, step__gt=step or 0).delete()
        run.status = S.QUEUED
        run.attempt += 1
        run.cancel_requested = False
        run.error = ""
        run.finished_at = None
        run.checkpoint_step = step
        run.step = step or 0
        run.eta_s = None
        run.message = (
            f"Resumed from the checkpoint of step {step:,}; waiting for a GPU worker."
            if step
            else "Resumed (no checkpoint yet: from the start); waiting for a GPU worker."
        )
        run.save()
        audit_one(
            actor=actor,
            action="training_run.resume",
            object_type="training_run",
            object_id=run.pk,
            before={"status": before},
            after={"status": run.status, "attempt": run.attempt, "checkpoint_step": step},
        )
        if enqueue:
            transaction.on_commit(lambda: enqueue(run))
    return run


# -- the exported backbone --------------------------------------------------------------------


def backbone_file(run: TrainingRun) -> Path:
    """The run's exported backbone; 404 `no_backbone` until the trainer has written it."""
    path = settings.DATA_ROOT / run.backbone_path if run.backbone_path else None
    if path is None or not path.is_file():
        raise NotFound(
            f"Training run {run.pk} has no exported backbone yet (it is written when the run "
            "finishes or is cancelled).",
            code="no_backbone",
        )
    return path


def backbone_card(run: TrainingRun) -> dict:
    """The model card next to the backbone (timm name, image size, step, recipe, …)."""
    path = backbone_file(run).with_name(CARD)
    try:
        card = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise NotFound(
            f"Training run {run.pk} has no readable model card.", code="no_backbone"
        ) from exc
    if not isinstance(card, dict):
        raise NotFound(f"Training run {run.pk} has no readable model card.", code="no_backbone")
    return card


def backbone_download_name(run: TrainingRun, card: dict) -> str:
    model = "".join(
        c if c.isalnum() or c in "-_." else "_" for c in str(card.get("model") or run.model)
    )
    step = card.get("step")
    step = step if isinstance(step, int) else run.checkpoint_step or run.step
    return f"{model}-run{run.pk}-step{step}.safetensors"


def _frozen_backbone(run: TrainingRun, card: dict) -> Path:
    """An immutable copy of the backbone named by its step (a hard link where it can be):
    a resumed run rewrites backbone.safetensors, and a cluster run must keep the weights it
    was made with."""
    source = backbone_file(run)
    frozen = source.parent / "backbones" / f"step-{int(card.get('step') or 0)}.safetensors"
    if not frozen.exists():
        frozen.parent.mkdir(parents=True, exist_ok=True)
        tmp = frozen.with_name(f".{frozen.name}.{uuid.uuid4().hex}")
        try:
            os.link(source, tmp)
        except OSError:  # another filesystem, or no hard links
            shutil.copyfile(source, tmp)
        os.replace(tmp, frozen)
    return frozen


def embedding_spec_for(run_id, *, batch_size: int | None = None) -> dict:
    """An EmbeddingModelSpec dict for a run's exported backbone (cluster runs embed with
    it): the card's timm name and image size, the file's absolute path. 400 when the run
    does not exist or has no backbone."""
    run = TrainingRun.objects.filter(pk=run_id).first() if isinstance(run_id, int) else None
    if run is None:
        raise ServiceError(f"No training run with id {run_id!r}.", code="unknown_training_run")
    try:
        card = backbone_card(run)
    except NotFound as exc:
        raise ServiceError(
            f"Training run {run.pk} has no exported backbone to embed with yet.",
            code="no_backbone",
        ) from exc
    spec = {
        "name": str(card.get("model") or run.model),
        "weights": str(_frozen_backbone(run, card)),
        "image_size": card.get("img_size"),
    }
    if batch_size is not None:
        spec["batch_size"] = batch_size
    return spec
