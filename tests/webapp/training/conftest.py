"""Fixtures for training runs: a built dataset version as rows only (enough to launch, list
and act on runs), a launcher, a stand-in trainer (a tiny script with the CLI's file and
exit-code contract, so the worker's loop is tested without torch), and the dataset tests'
curated world for the runs on a real worker with the real trainer."""

import sys
import textwrap
from pathlib import Path

import pytest

# The curated world (demo slides tiled, a reviewed cluster run), made once per module.
from tests.webapp.datasets.conftest import world  # noqa: F401
from webapp.training.models import TrainingRun
from webapp.training.services import runs

TINY = {"total_steps": 6, "checkpoint_every": 3, "batch_size": 4}


@pytest.fixture
def version(db):
    """A built dataset version's rows (no files)."""
    from webapp.clusters.models import ClusterRun
    from webapp.datasets.models import DatasetVersion
    from webapp.tiling.models import TilingConfig

    config = TilingConfig.objects.create(name="tr", params={}, key="t-tr")
    run = ClusterRun.objects.create(
        name="r", config=config, feature_kind="colour", params={}, status="succeeded"
    )
    return DatasetVersion.objects.create(
        name="colon v1",
        cluster_run=run,
        recipe={},
        status="built",
        folder="datasets/version-rows",
        checksum="a" * 64,
        row_count=300,
    )


@pytest.fixture
def admin(make_user):
    return make_user("admin", username="admin-user")


@pytest.fixture
def launch(admin, version):
    """`launch(**overrides)` → a queued cpu_smoke run (not enqueued)."""

    def make(name: str = "smoke", **overrides) -> TrainingRun:
        return runs.run_launch(
            actor=admin,
            name=name,
            dataset_version=version,
            preset="cpu_smoke",
            overrides={**TINY, **overrides},
        )

    return make


FAKE_TRAINER = textwrap.dedent(
    """
    # A stand-in for `python -m trainer`: the same files and exit codes, no torch.
    import json, sys, time
    from pathlib import Path

    out, mode, total = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    (out / "checkpoints").mkdir(parents=True, exist_ok=True)
    latest = out / "checkpoints" / "latest.json"
    start = json.loads(latest.read_text())["step"] if latest.exists() else 0
    metrics = out / "metrics.jsonl"
    if metrics.exists():  # --resume: drop the lines past the checkpoint (atomically)
        kept = [l for l in metrics.read_text().splitlines()
                if l.strip() and json.loads(l).get("step", 0) <= start]
        tmp = out / "metrics.tmp"
        tmp.write_text("".join(l + "\\n" for l in kept))
        tmp.replace(metrics)
    (out / "run.json").write_text(json.dumps(
        {"recipe": {}, "total_steps": total, "device": "cpu", "world_size": 1}))

    def log(line):
        with metrics.open("a") as f:
            f.write(json.dumps(line) + "\\n")

    def export(step):
        (out / "backbone.safetensors").write_bytes(b"weights-%d" % step)
        (out / "backbone.json").write_text(json.dumps(
            {"format": "timm", "model": "vit_tiny_patch16_224", "img_size": 32, "step": step}))

    for step in range(start + 1, total + 1):
        if (out / "STOP").exists():
            latest.write_text(json.dumps({"step": step - 1}))
            export(step - 1)
            log({"event": "stopped", "step": step - 1})
            sys.exit(10)
        if mode == "crash" and step == 3:
            print("Traceback (most recent call last):", file=sys.stderr)
            print("RuntimeError: CUDA out of memory", file=sys.stderr)
            sys.exit(1)
        log({"step": step, "loss": 10.0 - step, "dino": 1.0, "ibot": 2.0, "koleo": 0.1,
             "lr": 0.001, "wd": 0.04, "momentum": 0.99, "teacher_temp": 0.04,
             "images_per_s": 50.0, "gpu_mem_mb": None, "total_steps": total,
             "eta_s": float(total - step), "time": time.time()})
        if step % 2 == 0:
            latest.write_text(json.dumps({"step": step}))
        if step == total:
            log({"step": step, "eval": {"knn_accuracy": 0.5, "linear_probe_accuracy": 0.6}})
        time.sleep(float(mode) if mode.replace(".", "").isdigit() else 0.02)
    export(total)
    log({"event": "finished", "step": total})
    """
)


@pytest.fixture
def fake_trainer(tmp_path, monkeypatch, settings):
    """Make the worker start the stand-in trainer: `fake_trainer(mode)` with mode "ok",
    "crash" or a per-step sleep in seconds (time to cancel)."""
    from webapp.training.services import execution

    script = tmp_path / "fake_trainer.py"
    script.write_text(FAKE_TRAINER)
    settings.TRAINING_POLL_S = 0.05

    def use(mode: str = "ok"):
        def command(run):
            total = str(run.recipe["total_steps"])
            return [sys.executable, str(script), str(runs.run_dir(run)), mode, total]

        monkeypatch.setattr(execution, "command", command)
        # The stand-in needs no manifest; the real one is checked before the start.
        monkeypatch.setattr(execution, "manifest_path", lambda version, fmt: Path(script))

    return use
