"""Executing a training run: the trainer CLI (`python -m trainer`) as a child process of the
worker, watched through its files.

The child gets the run's folder, the dataset version's manifest, the recipe (as --set pairs
over its preset) and `--resume`, so a redelivered or resumed task continues from the latest
checkpoint. While it runs, the worker tails metrics.jsonl into TrainingMetric rows, copies the
latest progress onto the run row (its heartbeat), and turns a cancel request into the STOP
file the trainer watches. A resume elsewhere (a newer attempt) makes this one stop its child
and leave the row alone. The child dies with the worker (PR_SET_PDEATHSIG), so a killed
worker leaves no orphan trainer writing into the folder.
"""

import ctypes
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections import deque
from datetime import timedelta
from pathlib import Path

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import OperationalError
from django.utils import timezone

from webapp.core.status import claim_run
from webapp.datasets.services.builds import manifest_path
from webapp.training.models import RunStatus as S
from webapp.training.models import TrainingMetric, TrainingRun
from webapp.training.services import metrics
from webapp.training.services.runs import BACKBONE, changed_fields, checkpoint_step, run_dir

logger = logging.getLogger(__name__)
EXIT_STOPPED = 10  # the trainer's "stopped on request" (checkpoint saved, backbone exported)
STOP_GRACE_S = 120  # a stopping trainer saves a checkpoint: give it time before SIGKILL
ERROR_LINES = 20
PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Linux: SIGKILL the child when the worker that started it dies, however it dies."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


def gpu_count() -> int:
    try:
        import torch

        return torch.cuda.device_count() if torch.cuda.is_available() else 0
    except ImportError:
        return 0


def command(run: TrainingRun) -> list[str]:
    """The trainer's command line for a run (torch.distributed.run over several GPUs)."""
    folder = run_dir(run)
    args = [
        "-m",
        "trainer",
        "--manifest",
        str(manifest_path(run.dataset_version, "parquet")),
        "--out",
        str(folder),
        "--preset",
        run.preset,
    ]
    for key, value in changed_fields(run.recipe, run.preset).items():
        args += ["--set", f"{key}={json.dumps(value)}"]
    args += [
        "--stop-file",
        str(folder / "STOP"),
        "--no-progress",
        "--workers",
        str(settings.TRAINING_DATA_WORKERS),
        "--resume",
    ]
    if run.dataset_version.checksum:
        args += ["--manifest-checksum", run.dataset_version.checksum]
    if run.eval_folder:
        args += ["--eval-folder", run.eval_folder]
    gpus = gpu_count()
    if gpus > 1:
        return [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            f"--nproc_per_node={gpus}",
            *args,
        ]
    return [sys.executable, *args]


class Superseded(Exception):
    """A newer attempt (a resume) owns the run: stop the child, leave the row alone."""


class Watch:
    """The loop's bookkeeping for one attempt: writes go to this attempt's row only."""

    def __init__(self, run: TrainingRun, attempt: int, tailer: metrics.Tailer):
        self.run, self.attempt, self.tailer = run, attempt, tailer
        self.folder = run_dir(run)
        self.beat_at = 0.0
        self.run_json_seen = False
        # The previous attempt's run.json (a resume) says nothing about this one's device:
        # wait for the trainer to write its own (atomically: a new file).
        self.old_run_json = _identity(self.folder / "run.json")
        self.checkpoint_mtime = None

    def update(self, **fields) -> None:
        fields.setdefault("heartbeat_at", timezone.now())
        done = TrainingRun.objects.filter(
            pk=self.run.pk, attempt=self.attempt, status__in=[S.RUNNING, S.INTERRUPTED]
        ).update(status=S.RUNNING, **fields)
        if not done:
            raise Superseded
        self.beat_at = time.monotonic()

    def poll(self) -> None:
        """Ingest new lines, copy the progress, beat; at most one write of the row."""
        fields = self._run_json()
        update = self.tailer.read()
        if update:
            metrics.store(self.run.pk, update)
            fields.update(progress(update))
        step = self._checkpoint()
        if step is not None:
            fields["checkpoint_step"] = step
        if fields or time.monotonic() - self.beat_at >= settings.TRAINING_HEARTBEAT_EVERY_S:
            self.update(**fields)

    def drain(self) -> None:
        """After the child exits: the last lines (a long file takes several reads)."""
        while update := self.tailer.read():
            metrics.store(self.run.pk, update)
            self.update(**progress(update))
        step = self._checkpoint()
        if step is not None:
            self.update(checkpoint_step=step)

    def _run_json(self) -> dict:
        if self.run_json_seen or _identity(self.folder / "run.json") == self.old_run_json:
            return {}
        try:
            info = json.loads((self.folder / "run.json").read_text())
        except (OSError, ValueError):
            return {}
        self.run_json_seen = True
        fields = {"device": str(info.get("device") or "")[:8]}
        if isinstance(info.get("world_size"), int):
            fields["world_size"] = max(1, info["world_size"])
        if isinstance(info.get("total_steps"), int):
            fields["total_steps"] = info["total_steps"]
        return fields

    def _checkpoint(self) -> int | None:
        try:
            mtime = (self.folder / "checkpoints" / "latest.json").stat().st_mtime_ns
        except OSError:
            return None
        if mtime == self.checkpoint_mtime:
            return None
        self.checkpoint_mtime = mtime
        return checkpoint_step(self.run)

    def state(self) -> dict:
        state = (
            TrainingRun.objects.filter(pk=self.run.pk).values("attempt", "cancel_requested").first()
        )
        if state is None or state["attempt"] != self.attempt:
            raise Superseded
        return state


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_ino, st.st_mtime_ns


def progress(update: metrics.Update) -> dict:
    """The run row's copy of the latest step line and evaluation."""
    fields = {}
    line = update.last_step
    if line:
        fields.update(step=int(line["step"]), last_metrics=line)
        for key in ("images_per_s", "gpu_mem_mb", "eta_s"):
            value = line.get(key)
            fields[key] = float(value) if isinstance(value, int | float) else None
        if isinstance(line.get("total_steps"), int):
            fields["total_steps"] = line["total_steps"]
    if update.last_eval:
        fields["latest_eval"] = update.last_eval
    if update.event and isinstance(update.event.get("step"), int):
        fields.setdefault("step", update.event["step"])
    return fields


def _stderr_tail(path: Path) -> str:
    try:
        with path.open("rb") as handle:
            handle.seek(max(0, path.stat().st_size - 64_000))
            lines = deque(handle.read().decode(errors="replace").splitlines(), ERROR_LINES)
    except OSError:
        return ""
    return "\n".join(line for line in lines if line.strip())


def _stop(process: subprocess.Popen, folder: Path) -> int:
    """Ask the trainer to stop (it checkpoints and exports), then insist."""
    (folder / "STOP").touch()
    try:
        process.send_signal(signal.SIGTERM)
        return process.wait(timeout=STOP_GRACE_S)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait()


def _watch(watch: Watch, process: subprocess.Popen) -> int:
    stop_file = watch.folder / "STOP"
    while True:
        try:
            return process.wait(timeout=settings.TRAINING_POLL_S)
        except subprocess.TimeoutExpired:
            pass
        watch.poll()
        if watch.state()["cancel_requested"] and not stop_file.exists():
            stop_file.touch()
            watch.update(message="Stopping after the current step (cancel requested)…")


def _finish(watch: Watch, code: int, stderr: Path) -> None:
    run, now = watch.run, timezone.now()
    backbone = watch.folder / BACKBONE
    fields = {"finished_at": now, "heartbeat_at": now, "eta_s": None}
    if backbone.is_file():
        fields["backbone_path"] = str(backbone.relative_to(settings.DATA_ROOT))
    run.refresh_from_db(fields=["step", "total_steps", "cancel_requested"])
    if code == 0:
        fields.update(status=S.SUCCEEDED, message=f"Trained {run.step:,} steps.", error="")
    elif code == EXIT_STOPPED and run.cancel_requested:
        fields.update(
            status=S.CANCELLED,
            message=f"Cancelled at step {run.step:,}; resume to continue from its checkpoint.",
        )
    elif code == EXIT_STOPPED:
        # Stopped by a signal nobody here sent (a worker shut down): nothing went wrong.
        fields.update(
            status=S.INTERRUPTED,
            finished_at=None,
            message=f"The trainer was stopped at step {run.step:,}; resume to continue.",
        )
    else:
        reason = _stderr_tail(stderr) or f"The trainer exited with code {code}."
        fields.update(
            status=S.FAILED,
            error=reason,
            message=f"Failed at step {run.step:,} (exit code {code}).",
        )
    TrainingRun.objects.filter(pk=run.pk, attempt=watch.attempt).update(**fields)


def alive_elsewhere(run_id: int, attempt: int) -> bool:
    """Whether another worker is running this attempt now (running, heartbeat fresh)."""
    fresh = timezone.now() - timedelta(seconds=settings.TRAINING_HEARTBEAT_STALE_S)
    return TrainingRun.objects.filter(
        pk=run_id, attempt=attempt, status=S.RUNNING, heartbeat_at__gte=fresh
    ).exists()


def run_execute(run_id: int, *, attempt: int | None = None) -> TrainingRun:
    """Run (or continue) a training run; the body of the Celery task, callable directly.

    Returns the run as it ends. A run that is finished, cancelled or owned by a newer attempt
    is left alone; a database outage propagates (the task retries, and the trainer resumes
    from its checkpoint); any other failure marks the run failed with the reason."""
    run = TrainingRun.objects.select_related("dataset_version").get(pk=run_id)
    attempt = run.attempt if attempt is None else attempt
    if not claim_run(TrainingRun, run_id, attempt, message="Starting the trainer."):
        return TrainingRun.objects.get(pk=run_id)
    run.refresh_from_db()
    folder = run_dir(run)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "STOP").unlink(missing_ok=True)  # a previous cancel's, or the trainer stops at once
    # A redelivered task continues from the checkpoint as a resume does: the steps past it
    # will be logged again (a resume has deleted these rows already).
    start = checkpoint_step(run)
    TrainingMetric.objects.filter(run_id=run_id, step__gt=start or 0).delete()
    watch = Watch(run, attempt, metrics.Tailer.at_start(folder / "metrics.jsonl", start))
    stderr_path = folder / f"trainer-{attempt}.stderr.log"
    process = None
    try:
        manifest = manifest_path(run.dataset_version, "parquet")
        if not manifest.is_file():
            raise RuntimeError(f"The dataset version's manifest is missing ({manifest}).")
        with stderr_path.open("wb") as stderr, (folder / "trainer.stdout.log").open("ab") as out:
            process = subprocess.Popen(
                command(run),
                cwd=settings.BASE_DIR,
                env={**os.environ, "PYTHONPATH": str(settings.BASE_DIR)},
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=stderr,
                start_new_session=False,
                preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
            )
        watch.update(message="Training.")
        code = _watch(watch, process)
        watch.drain()
        _finish(watch, code, stderr_path)
    except Superseded:
        if process is not None and process.poll() is None:
            _stop(process, folder)
    except SoftTimeLimitExceeded:
        code = _stop(process, folder) if process is not None else -1
        TrainingRun.objects.filter(pk=run_id, attempt=attempt).update(
            status=S.INTERRUPTED,
            message=f"The task reached its time limit (exit code {code}); resume to continue.",
        )
    except OperationalError:
        if process is not None and process.poll() is None:
            _stop(process, folder)  # the retry resumes from the checkpoint this writes
        raise
    except Exception as exc:  # noqa: BLE001 - any failure must end as a visible reason
        logger.exception("Training run %s failed", run_id)
        if process is not None and process.poll() is None:
            _stop(process, folder)
        TrainingRun.objects.filter(pk=run_id, attempt=attempt).update(
            status=S.FAILED,
            error=f"{type(exc).__name__}: {exc}",
            message="The worker could not run the trainer.",
            finished_at=timezone.now(),
        )
    return TrainingRun.objects.get(pk=run_id)
