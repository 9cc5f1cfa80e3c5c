"""Training runs launched through the API on a real built dataset version, executed by a real
Celery worker running the real trainer (`python -m trainer`, cpu_smoke with tiny overrides):
metrics reach the database, the backbone downloads and loads as an embedding model, and a
run cancelled mid-way resumes to success with every step logged exactly once."""

import time

import pytest

from tests.live_services import celery_worker
from tests.webapp.datasets.world import recipe_for
from tests.webapp.training.conftest import TINY
from webapp.training.models import TrainingMetric

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def built(world, settings, make_user):
    """The world's cluster run as a dataset version, built in-process (seconds)."""
    from webapp.clusters.models import ClusterRun
    from webapp.datasets.services import builds, versions

    settings.DATA_ROOT = world.data_root
    curator = make_user("pathologist", username="training-curator")
    version = versions.version_create(
        actor=curator,
        name="training smoke",
        cluster_run=ClusterRun.objects.get(pk=world.run_id),
        recipe=recipe_for(world, budget=64),
    )
    builds.version_build_start(actor=curator, version=version)
    version = builds.version_build(version.pk)
    assert version.status == "built", version.error
    return version


def _wait(client, pk: int, until, seconds: float = 240) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        run = client.get(f"/api/training/runs/{pk}/").json()
        if until(run):
            return run
        time.sleep(0.3)
    return run


def _finished(run) -> bool:
    return run["status"] not in ("queued", "running")


def _launch(client, version, **overrides) -> dict:
    created = client.post(
        "/api/training/runs/",
        {
            "name": "smoke",
            "dataset_version": version.pk,
            "preset": "cpu_smoke",
            "overrides": {**TINY, **overrides},
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    return created.json()


def test_runs_on_a_real_worker(built, api_as, settings, tmp_path):
    from curation.embeddings import EmbeddingModelSpec, load_model
    from webapp.training.services.runs import embedding_spec_for

    admin = api_as("admin")
    log = tmp_path / "worker.log"
    # No data-loading processes: the test machine's cores are few and shared.
    with celery_worker(settings.DATA_ROOT, log, TRAINING_POLL_S="0.2", TRAINING_DATA_WORKERS="0"):
        pk = _launch(admin, built)["id"]
        run = _wait(admin, pk, _finished)
        assert run["status"] == "succeeded", (run, log.read_text()[-3000:])

        # A longer run, cancelled once it has logged two steps, then resumed.
        other = _launch(admin, built, total_steps=30, checkpoint_every=5)["id"]
        running = _wait(admin, other, lambda r: r["step"] >= 2 or _finished(r))
        assert running["status"] == "running", (running, log.read_text()[-3000:])
        cancelled = admin.post(f"/api/training/runs/{other}/cancel/")
        assert cancelled.status_code == 202 and cancelled.json()["cancel_requested"]
        stopped = _wait(admin, other, _finished)
        assert stopped["status"] == "cancelled", (stopped, log.read_text()[-3000:])
        assert stopped["step"] < 30 and stopped["backbone"]["available"]
        assert stopped["checkpoint_step"] == stopped["step"] and stopped["can_resume"]
        resumed = admin.post(f"/api/training/runs/{other}/resume/")
        assert resumed.status_code == 202 and resumed.json()["status"] == "queued"
        final = _wait(admin, other, _finished)
        assert final["status"] == "succeeded", (final, log.read_text()[-3000:])
    assert "training.execute_run" in log.read_text()

    # The first run: progress and metrics in the database and through the API.
    assert run["step"] == 6 and run["total_steps"] == 6 and run["progress"] == 1.0
    assert run["device"] == "cpu" and run["world_size"] == 1 and run["checkpoint_step"] == 6
    assert run["last_metrics"]["step"] == 6 and run["images_per_s"] > 0
    series = admin.get(f"/api/training/runs/{pk}/metrics/").json()["steps"]
    assert series["step"] == [1, 2, 3, 4, 5, 6]
    assert all(isinstance(v, float) for v in series["loss"] + series["lr"])
    assert TrainingMetric.objects.filter(run_id=pk, kind="step").count() == 6

    # Its backbone: downloaded, described, and usable to embed tiles with.
    download = api_as("viewer").get(f"/api/training/runs/{pk}/backbone/", HTTP_ACCEPT="*/*")
    assert download.status_code == 200
    assert b"".join(download.streaming_content)[:8]  # a safetensors header
    assert download["Content-Disposition"] == (
        f'attachment; filename="vit_tiny_patch16_224-run{pk}-step6.safetensors"'
    )
    card = admin.get(f"/api/training/runs/{pk}/backbone/card/").json()
    assert card["model"] == "vit_tiny_patch16_224" and card["img_size"] == 32
    model = load_model(EmbeddingModelSpec(**embedding_spec_for(pk)), device="cpu")
    assert model.image_size == 32

    # The cancelled and resumed run: every step exactly once.
    assert final["step"] == 30 and final["progress"] == 1.0
    steps = admin.get(f"/api/training/runs/{other}/metrics/?max_points=5000").json()["steps"]
    assert steps["step"] == list(range(1, 31))
    assert TrainingMetric.objects.filter(run_id=other, kind="step").count() == 30
