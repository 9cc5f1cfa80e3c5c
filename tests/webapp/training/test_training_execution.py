"""The worker's side of a run with a stand-in trainer (same files and exit codes, no torch):
progress and metrics copied while it runs, success with the backbone, a crash with its
stderr, cancel through the STOP file and resume, a superseded attempt, a redelivered copy,
and the command line the real trainer gets."""

import sys
import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from webapp.training.models import TrainingMetric, TrainingRun
from webapp.training.services import execution, runs
from webapp.training.services.execution import run_execute


def _steps(run) -> list[int]:
    rows = TrainingMetric.objects.filter(run=run, kind="step").order_by("step")
    return list(rows.values_list("step", flat=True))


@pytest.mark.django_db
def test_a_run_succeeds(launch, fake_trainer, settings):
    fake_trainer("ok")
    run = run_execute(launch(total_steps=5).pk)
    assert run.status == "succeeded", (run.error, run.message)
    assert run.step == 5 and run.total_steps == 5 and run.device == "cpu" and run.world_size == 1
    assert run.images_per_s == 50.0 and run.gpu_mem_mb is None and run.eta_s is None
    assert run.last_metrics["loss"] == 5.0 and run.checkpoint_step == 4
    assert run.latest_eval == {"step": 5, "knn_accuracy": 0.5, "linear_probe_accuracy": 0.6}
    assert run.backbone_path == f"{run.folder}/backbone.safetensors"
    assert run.started_at and run.finished_at and run.message == "Trained 5 steps."
    assert _steps(run) == [1, 2, 3, 4, 5]
    assert TrainingMetric.objects.filter(run=run, kind="eval").count() == 1
    assert run_execute(run.pk).status == "succeeded"  # a finished run is left alone


@pytest.mark.django_db
def test_a_crash_fails_with_the_end_of_stderr(launch, fake_trainer):
    fake_trainer("crash")
    run = run_execute(launch().pk)
    assert run.status == "failed" and run.step == 2
    assert run.error.splitlines() == [
        "Traceback (most recent call last):",
        "RuntimeError: CUDA out of memory",
    ]
    assert "exit code 1" in run.message and not run.backbone_path


@pytest.mark.django_db(transaction=True)
def test_cancel_stops_the_trainer_and_resume_continues(launch, fake_trainer, api_as):
    """The cancel goes through the database to the worker's loop, which writes STOP; the
    trainer checkpoints and exits 10; a resume continues from that checkpoint."""
    fake_trainer("0.3")
    admin = api_as("admin")
    run = launch(total_steps=8)

    def cancel_when_two_steps_are_in():
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if TrainingMetric.objects.filter(run=run).count() >= 2:
                admin.post(f"/api/training/runs/{run.pk}/cancel/")
                break
            time.sleep(0.05)
        connection.close()

    canceller = threading.Thread(target=cancel_when_two_steps_are_in)
    canceller.start()
    done = run_execute(run.pk)
    canceller.join()
    assert done.status == "cancelled", (done.error, done.message)
    assert 2 <= done.step < 8 and done.backbone_path  # stopped early, backbone exported
    assert done.checkpoint_step == done.step and "resume" in done.message
    assert _steps(done) == list(range(1, done.step + 1))

    fake_trainer("ok")
    resumed = admin.post(f"/api/training/runs/{run.pk}/resume/").json()
    assert resumed["status"] == "queued" and resumed["checkpoint_step"] == done.step
    final = run_execute(run.pk)
    assert final.status == "succeeded" and final.step == 8 and final.attempt == 1
    assert _steps(final) == list(range(1, 9))
    assert not (runs.run_dir(final) / "STOP").exists()


@pytest.mark.django_db
def test_a_superseded_attempt_stops_quietly(launch, fake_trainer, monkeypatch):
    fake_trainer("0.2")
    run = launch(total_steps=50)
    polls = 0
    real_poll = execution.Watch.poll

    def poll_then_resume_elsewhere(self):
        nonlocal polls
        polls += 1
        real_poll(self)
        if polls == 3:  # someone marked it interrupted and resumed it: attempt 1 now
            TrainingRun.objects.filter(pk=run.pk).update(attempt=1, status="queued")

    monkeypatch.setattr(execution.Watch, "poll", poll_then_resume_elsewhere)
    started = time.monotonic()
    ended = run_execute(run.pk, attempt=0)
    assert time.monotonic() - started < 20  # the trainer was stopped, not waited for
    assert ended.status == "queued" and ended.attempt == 1  # left to the new attempt


@pytest.mark.django_db
def test_a_cancelled_queued_run_never_starts(launch, fake_trainer, admin):
    fake_trainer("ok")
    run = runs.run_cancel(actor=admin, run=launch())
    assert run_execute(run.pk).status == "cancelled"
    assert not runs.run_dir(run).exists()


@pytest.mark.django_db
def test_a_redelivered_copy_waits_while_the_live_one_beats(launch, fake_trainer, monkeypatch):
    from django.conf import settings

    from webapp.training import tasks

    fake_trainer("ok")
    run = launch()
    TrainingRun.objects.filter(pk=run.pk).update(status="running", heartbeat_at=timezone.now())
    assert execution.alive_elsewhere(run.pk, 0) and not execution.alive_elsewhere(run.pk, 1)
    waits, real_sleep = [], time.sleep

    def the_live_copy_goes_silent(seconds):
        if waits:  # `time` is the module: the trainer's process waits use it too
            return real_sleep(seconds)
        waits.append(seconds)
        stale = timezone.now() - timedelta(seconds=settings.TRAINING_HEARTBEAT_STALE_S + 1)
        TrainingRun.objects.filter(pk=run.pk).update(heartbeat_at=stale)

    monkeypatch.setattr(tasks.time, "sleep", the_live_copy_goes_silent)
    assert tasks.execute_run.run(run.pk, 0) == "succeeded"  # took over
    assert waits == [settings.TRAINING_HEARTBEAT_EVERY_S]


@pytest.mark.django_db
def test_the_trainer_command(launch, settings, monkeypatch):
    settings.TRAINING_DATA_WORKERS = 3
    run = launch(lr=0.001)
    run.eval_folder = "/data/eval-tiles"
    monkeypatch.setattr(execution, "gpu_count", lambda: 0)
    cmd = execution.command(run)
    folder = str(runs.run_dir(run))
    assert cmd[:3] == [sys.executable, "-m", "trainer"]
    assert cmd[cmd.index("--manifest") + 1] == str(
        settings.DATA_ROOT / "datasets/version-rows/manifest.parquet"
    )
    assert cmd[cmd.index("--out") + 1] == folder and cmd[cmd.index("--preset") + 1] == "cpu_smoke"
    sets = sorted(cmd[i + 1] for i, arg in enumerate(cmd) if arg == "--set")
    assert sets == ["checkpoint_every=3", "lr=0.001", "total_steps=6"]  # batch 4: the preset's
    assert cmd[cmd.index("--stop-file") + 1] == f"{folder}/STOP"
    assert cmd[cmd.index("--manifest-checksum") + 1] == "a" * 64
    assert cmd[cmd.index("--eval-folder") + 1] == "/data/eval-tiles"
    assert cmd[cmd.index("--workers") + 1] == "3"
    assert "--resume" in cmd and "--no-progress" in cmd

    monkeypatch.setattr(execution, "gpu_count", lambda: 4)
    cmd = execution.command(run)
    assert cmd[:6] == [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=4",
        "-m",
    ]  # fmt: skip
    assert cmd[6] == "trainer"
