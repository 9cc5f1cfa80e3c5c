"""metrics.jsonl into rows (partial lines, evaluations, events, a file that shrinks or is
replaced on a resume, stale lines past the checkpoint) and out again, downsampled."""

import json

import pytest

from webapp.training.models import TrainingMetric
from webapp.training.services import metrics

pytestmark = pytest.mark.django_db


def _step(step: int, **more) -> str:
    line = {"step": step, "loss": 10.0 - step, "dino": 1.0, "ibot": 2.0, "koleo": 0.1}
    line.update({"lr": 1e-3, "wd": 0.04, "images_per_s": 12.5, "gpu_mem_mb": None, **more})
    return json.dumps(line) + "\n"


def _ingest(run, tailer) -> metrics.Update:
    update = tailer.read()
    metrics.store(run.pk, update)
    return update


def _rows(run, kind="step") -> list[int]:
    return list(
        TrainingMetric.objects.filter(run=run, kind=kind)
        .order_by("step")
        .values_list("step", flat=True)
    )


def test_tailing_ingests_complete_lines_and_rereads_a_rewritten_file(launch, tmp_path):
    run = launch()
    path = tmp_path / "metrics.jsonl"
    tailer = metrics.Tailer.at_start(path, None)
    assert not tailer.read()  # no file yet
    path.write_text(_step(1) + _step(2) + _step(3)[:20])  # the third line is half written
    update = _ingest(run, tailer)
    assert sorted(update.steps) == [1, 2] and update.last_step["step"] == 2
    assert _rows(run) == [1, 2]
    with path.open("a") as f:
        f.write(_step(3)[20:] + "not json\n" + json.dumps({"step": 3, "eval": {"knn": 0.7}}) + "\n")
        f.write(_step(4) + json.dumps({"event": "stopped", "step": 4}) + "\n")
    update = _ingest(run, tailer)
    assert sorted(update.steps) == [3, 4] and update.last_eval == {"step": 3, "knn": 0.7}
    assert update.event == {"event": "stopped", "step": 4}
    assert _rows(run) == [1, 2, 3, 4] and _rows(run, "eval") == [3]
    row = TrainingMetric.objects.get(run=run, kind="step", step=4)
    assert row.values["loss"] == 6.0 and row.values["gpu_mem_mb"] is None

    # A resume from step 2: the trainer rewrites the file (shorter), then logs step 3 again.
    TrainingMetric.objects.filter(run=run, step__gt=2).delete()
    rewritten = tmp_path / "rewritten"
    rewritten.write_text(_step(1) + _step(2) + _step(3, loss=-1.0))
    rewritten.replace(path)
    assert _ingest(run, tailer) is not None
    assert _rows(run) == [1, 2, 3]
    assert TrainingMetric.objects.get(run=run, kind="step", step=3).values["loss"] == -1.0

    # The same file truncated in place (smaller than the offset) is re-read too.
    path.write_text(_step(1))
    assert list(_ingest(run, tailer).steps) == [1]
    with path.open("a") as f:
        f.write(_step(2, loss=42.0))
    assert list(_ingest(run, tailer).steps) == [2]
    assert TrainingMetric.objects.get(run=run, kind="step", step=2).values["loss"] == 42.0


def test_a_resumed_worker_skips_the_old_lines_past_the_checkpoint(launch, tmp_path):
    """Until the trainer rewrites the previous attempt's file, its lines past the checkpoint
    are not ingested (they would come back as rows the resume deleted)."""
    run = launch()
    path = tmp_path / "metrics.jsonl"
    path.write_text("".join(_step(s) for s in range(1, 6)))
    tailer = metrics.Tailer.at_start(path, checkpoint_step=3)
    assert sorted(_ingest(run, tailer).steps) == [1, 2, 3]
    with path.open("a") as f:  # a trainer that appends without rewriting: new lines count
        f.write(_step(4, loss=0.5))
    assert sorted(_ingest(run, tailer).steps) == [4]
    assert _rows(run) == [1, 2, 3, 4]


def test_downsampling_is_bounded_and_keeps_the_ends(launch, api_as):
    run = launch()
    TrainingMetric.objects.bulk_create(
        [TrainingMetric(run=run, kind="step", step=s, values={"loss": s}) for s in range(1, 1238)]
        + [TrainingMetric(run=run, kind="eval", step=s, values={"knn_accuracy": s}) for s in (5, 9)]
    )
    for max_points in (2, 3, 7, 10, 100, 500, 1236, 1237, 5000):
        data = metrics.run_metrics(run, max_points)
        steps = data["steps"]["step"]
        assert len(steps) <= max_points, max_points
        assert steps[0] == 1 and steps[-1] == 1237 and steps == sorted(set(steps))
        assert len(steps) >= min(max_points, 1237) // 2  # an integer stride: at least half
        assert data["steps"]["loss"] == [float(s) for s in steps]
    assert data["eval"] == [{"step": 5, "knn_accuracy": 5}, {"step": 9, "knn_accuracy": 9}]

    viewer = api_as("viewer")
    body = viewer.get(f"/api/training/runs/{run.pk}/metrics/?max_points=50").json()
    assert len(body["steps"]["step"]) <= 50 and body["steps"]["step"][-1] == 1237
    assert set(body["steps"]) == {
        "step", "loss", "dino", "ibot", "koleo", "lr", "wd", "images_per_s", "gpu_mem_mb"
    }  # fmt: skip
    default = viewer.get(f"/api/training/runs/{run.pk}/metrics/").json()
    assert len(default["steps"]["step"]) <= 500
    for bad in ("0", "1", "5001", "many"):
        response = viewer.get(f"/api/training/runs/{run.pk}/metrics/?max_points={bad}")
        assert response.status_code == 400 and response.json()["code"] == "invalid", bad
    empty = viewer.get(f"/api/training/runs/{launch().pk}/metrics/").json()
    assert empty["steps"]["step"] == [] and empty["eval"] == []
