"""Training runs through the API and the services: presets, launch validation, roles, the
run's shape, cancel, resume (metric rows past the checkpoint go), interrupted runs, the
backbone download and a cluster run embedding with a run's backbone."""

import json
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from tests.webapp.training.conftest import TINY
from webapp.audit.models import AuditEvent
from webapp.training.models import MetricKind, TrainingMetric, TrainingRun
from webapp.training.services import runs

pytestmark = pytest.mark.django_db

RUN_FIELDS = {
    "id", "name", "status", "dataset_version", "preset", "model", "recipe", "step",
    "total_steps", "progress", "eta_s", "images_per_s", "gpu_mem_mb", "device", "world_size",
    "last_metrics", "latest_eval", "checkpoint_step", "backbone", "cancel_requested", "message",
    "error", "created_by", "created_at", "started_at", "finished_at", "heartbeat_at",
    "can_cancel", "can_resume",
}  # fmt: skip


def _body(version, **changes):
    body = {
        "name": "smoke",
        "dataset_version": version.pk,
        "preset": "cpu_smoke",
        "overrides": dict(TINY),
    }
    body.update(changes)
    return body


def _export(run: TrainingRun, step: int = 6) -> None:
    """Files as the trainer leaves them at the end, and the path the worker records."""
    folder = runs.run_dir(run)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "backbone.safetensors").write_bytes(b"tensors")
    card = {"format": "timm", "model": "vit_tiny_patch16_224", "img_size": 32, "step": step}
    (folder / "backbone.json").write_text(json.dumps(card))
    TrainingRun.objects.filter(pk=run.pk).update(
        backbone_path=f"{run.folder}/backbone.safetensors", status="succeeded", step=step
    )


def test_presets(api_as):
    presets = api_as("viewer").get("/api/training/presets/").json()
    names = [p["name"] for p in presets]
    assert names == ["cpu_smoke", "vit_s_single_gpu", "paper_vit_l14"]
    smoke = presets[0]
    assert smoke["description"] and smoke["recipe"]["model"] == "vit_tiny_patch16_224"
    assert smoke["recipe"]["global_crops_scale"] == [0.32, 1.0]


def test_launch_and_the_run_shape(api_as, version, django_capture_on_commit_callbacks):
    admin = api_as("admin")
    with django_capture_on_commit_callbacks() as callbacks:
        created = admin.post("/api/training/runs/", _body(version), format="json")
    assert created.status_code == 201, created.json()
    assert len(callbacks) == 1  # enqueued after commit
    data = created.json()
    assert set(data) == RUN_FIELDS
    assert data["status"] == "queued" and data["progress"] == 0.0
    assert data["dataset_version"] == {
        "id": version.pk, "name": "colon v1", "row_count": 300, "checksum": "a" * 64
    }  # fmt: skip
    assert data["recipe"]["total_steps"] == 6 and data["recipe"]["batch_size"] == 4
    assert data["recipe"]["prototypes"] == 64  # the rest from the preset
    assert data["total_steps"] == 6 and data["model"] == "vit_tiny_patch16_224"
    assert data["backbone"] == {
        "available": False,
        "url": f"/api/training/runs/{data['id']}/backbone/",
        "card_url": f"/api/training/runs/{data['id']}/backbone/card/",
    }
    assert data["can_cancel"] and not data["can_resume"] and data["created_by"] == "admin-user"
    run = TrainingRun.objects.get(pk=data["id"])
    assert run.folder == f"training/run-{run.pk}"
    assert AuditEvent.objects.filter(action="training_run.launch", object_id=str(run.pk)).exists()

    model = admin.post(
        "/api/training/runs/",
        _body(version, model="vit_small_patch16_224", weights="/weights/vit_s.safetensors"),
        format="json",
    ).json()
    assert model["model"] == "vit_small_patch16_224"
    assert model["recipe"]["weights"] == "/weights/vit_s.safetensors"

    listed = api_as("viewer").get("/api/training/runs/").json()
    assert listed["count"] == 2 and listed["results"][0]["id"] == model["id"]  # newest first
    assert api_as("viewer").get("/api/training/runs/?status=succeeded").json()["count"] == 0
    other = api_as("viewer").get(f"/api/training/runs/?dataset_version={version.pk + 1}")
    assert other.json()["count"] == 0


def test_launch_validation(api_as, version):
    admin = api_as("admin")
    for changes, code, words in [
        ({"preset": "huge"}, "unknown_preset", "cpu_smoke"),
        ({"overrides": {"batch_sise": 4}}, "invalid_recipe", "batch_sise"),
        ({"overrides": {"batch_size": "many"}}, "invalid_recipe", "batch_size"),
        ({"overrides": {"batch_size": 0}}, "invalid_recipe", "batch_size"),
        ({"overrides": {"lr": True}}, "invalid_recipe", "lr"),
        ({"overrides": {"global_crops_scale": [0.3]}}, "invalid_recipe", "global_crops_scale"),
        ({"overrides": {"centering": "median"}}, "invalid_recipe", "centering"),
        ({"overrides": {"checkpoint_every": 0}}, "invalid_recipe", "checkpoint_every"),
        ({"overrides": {"total_steps": 10**12}}, "invalid_recipe", "total_steps"),
        ({"overrides": {"extra": "x"}}, "invalid_recipe", "extra"),
        (
            {"model": "vit_small_patch16_224", "overrides": {"weights": 5}},
            "invalid_recipe",
            "weights",
        ),
        ({"overrides": [1, 2]}, "invalid", "overrides"),
        ({"dataset_version": 999999}, "invalid", "dataset_version"),
        ({"dataset_version": "x"}, "invalid", "dataset_version"),
        ({"name": ""}, "invalid", "name"),
        ({"name": "   "}, "invalid", "name"),
    ]:
        bad = admin.post("/api/training/runs/", _body(version, **changes), format="json")
        assert bad.status_code == 400, (changes, bad.content)
        assert bad.json()["code"] == code and words in bad.json()["detail"], (changes, bad.json())
    version.status = "draft"
    version.save()
    bad = admin.post("/api/training/runs/", _body(version), format="json")
    assert bad.status_code == 400 and bad.json()["code"] == "not_built"
    assert not TrainingRun.objects.exists()


def test_roles(api_as, make_user, launch, version):
    from rest_framework.test import APIClient

    from webapp.accounts.services import api_token_create

    run = launch()
    _export(run)
    paths = [
        "/api/training/presets/",
        "/api/training/runs/",
        f"/api/training/runs/{run.pk}/",
        f"/api/training/runs/{run.pk}/metrics/",
        f"/api/training/runs/{run.pk}/backbone/",
        f"/api/training/runs/{run.pk}/backbone/card/",
    ]
    token_client = APIClient()
    _, key = api_token_create(user=make_user("admin", username="token-admin"), name="r")
    token_client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    for client in [api_as("viewer"), api_as("pathologist"), token_client]:
        for path in paths:
            assert client.get(path).status_code == 200, path
        for path in ["/api/training/runs/", *(f"{paths[2]}{a}/" for a in ("cancel", "resume"))]:
            assert client.post(path, _body(version), format="json").status_code == 403, path
    for path in paths:
        assert api_as(None).get(path).status_code == 401
    assert TrainingRun.objects.count() == 1


def test_cancel(api_as, launch):
    admin = api_as("admin")
    queued = launch()
    cancelled = admin.post(f"/api/training/runs/{queued.pk}/cancel/")
    assert cancelled.status_code == 202
    data = cancelled.json()
    assert data["status"] == "cancelled" and data["cancel_requested"] and data["can_resume"]
    again = admin.post(f"/api/training/runs/{queued.pk}/cancel/")
    assert again.status_code == 409 and again.json()["code"] == "not_running"

    running = launch()
    TrainingRun.objects.filter(pk=running.pk).update(status="running", heartbeat_at=timezone.now())
    data = admin.post(f"/api/training/runs/{running.pk}/cancel/").json()
    assert data["status"] == "running" and data["cancel_requested"]  # the worker stops it
    assert not data["can_cancel"] and "Stopping" in data["message"]
    assert AuditEvent.objects.filter(action="training_run.cancel").count() == 2


def test_a_stale_heartbeat_shows_as_interrupted(api_as, launch, settings):
    run = launch()
    stale = timezone.now() - timedelta(seconds=settings.TRAINING_HEARTBEAT_STALE_S + 1)
    TrainingRun.objects.filter(pk=run.pk).update(status="running", heartbeat_at=stale)
    fresh = launch()
    TrainingRun.objects.filter(pk=fresh.pk).update(status="running", heartbeat_at=timezone.now())
    data = api_as("viewer").get(f"/api/training/runs/{run.pk}/").json()
    assert data["status"] == "interrupted" and data["can_resume"] and "resume" in data["message"]
    assert TrainingRun.objects.get(pk=fresh.pk).status == "running"


def test_resume_drops_the_metrics_past_the_checkpoint(api_as, launch, settings):
    admin = api_as("admin")
    run = launch()
    TrainingMetric.objects.bulk_create(
        [TrainingMetric(run=run, kind="step", step=s, values={"loss": s}) for s in range(1, 6)]
        + [TrainingMetric(run=run, kind="eval", step=s, values={"knn": 1}) for s in (2, 4)]
    )
    TrainingRun.objects.filter(pk=run.pk).update(status="failed", step=5, error="boom")
    folder = runs.run_dir(run) / "checkpoints"
    folder.mkdir(parents=True)
    (folder / "latest.json").write_text(json.dumps({"step": 3, "path": "step-3.safetensors"}))
    resumed = admin.post(f"/api/training/runs/{run.pk}/resume/")
    assert resumed.status_code == 202, resumed.json()
    data = resumed.json()
    assert data["status"] == "queued" and data["step"] == 3 and data["checkpoint_step"] == 3
    assert data["error"] == "" and "step 3" in data["message"]
    left = TrainingMetric.objects.filter(run=run).order_by("kind", "step")
    assert list(left.values_list("kind", "step")) == [
        ("eval", 2), ("step", 1), ("step", 2), ("step", 3)
    ]  # fmt: skip
    assert TrainingRun.objects.get(pk=run.pk).attempt == 1
    again = admin.post(f"/api/training/runs/{run.pk}/resume/")  # queued now
    assert again.status_code == 409 and again.json()["code"] == "not_resumable"

    fresh = launch()  # no checkpoint: every row goes, it starts over
    TrainingMetric.objects.create(run=fresh, kind=MetricKind.STEP, step=1, values={})
    TrainingRun.objects.filter(pk=fresh.pk).update(status="interrupted")
    assert admin.post(f"/api/training/runs/{fresh.pk}/resume/").status_code == 202
    assert not TrainingMetric.objects.filter(run=fresh).exists()

    _export(done := launch())
    assert admin.post(f"/api/training/runs/{done.pk}/resume/").status_code == 409


def test_backbone_download_and_card(api_as, launch):
    viewer = api_as("viewer")
    run = launch()
    missing = viewer.get(f"/api/training/runs/{run.pk}/backbone/")
    assert missing.status_code == 404 and missing.json()["code"] == "no_backbone"
    assert viewer.get(f"/api/training/runs/{run.pk}/backbone/card/").status_code == 404
    assert viewer.get("/api/training/runs/999999/backbone/").status_code == 404
    _export(run, step=6)
    response = viewer.get(f"/api/training/runs/{run.pk}/backbone/", HTTP_ACCEPT="*/*")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"tensors"
    assert response["Content-Disposition"] == (
        f'attachment; filename="vit_tiny_patch16_224-run{run.pk}-step6.safetensors"'
    )
    card = viewer.get(f"/api/training/runs/{run.pk}/backbone/card/").json()
    assert card["model"] == "vit_tiny_patch16_224" and card["img_size"] == 32
    assert viewer.get(f"/api/training/runs/{run.pk}/").json()["backbone"]["available"]


def test_a_cluster_run_embeds_with_a_training_runs_backbone(api_as, launch, tiled_config):
    admin = api_as("admin")
    run = launch()

    def cluster_run(embedding_model, **more):
        body = {"config": tiled_config.pk, "feature_kind": "embedding", "k": 2, **more}
        return admin.post(
            "/api/cluster-runs/", {**body, "embedding_model": embedding_model}, format="json"
        )

    no_backbone = cluster_run({"training_run": run.pk})
    assert no_backbone.status_code == 400 and no_backbone.json()["code"] == "no_backbone"
    assert "no exported backbone" in no_backbone.json()["detail"]
    unknown = cluster_run({"training_run": 999999})
    assert unknown.status_code == 400 and unknown.json()["code"] == "unknown_training_run"
    both = cluster_run({"training_run": run.pk, "name": "vit_tiny_patch16_224"})
    assert both.status_code == 400 and "training_run" in both.json()["detail"]
    assert cluster_run({"batch_size": 8}).status_code == 400  # neither name nor run

    _export(run)
    created = cluster_run({"training_run": run.pk, "batch_size": 16})
    assert created.status_code == 202, created.json()
    frozen = runs.run_dir(run) / "backbones" / "step-6.safetensors"
    assert created.json()["embedding_model"] == {
        "name": "vit_tiny_patch16_224",
        "weights": str(frozen),
        "image_size": 32,
        "batch_size": 16,
    }
    # a resumed run rewrites backbone.safetensors; the cluster run keeps the weights it had
    (runs.run_dir(run) / "backbone.safetensors").unlink()
    _export(run, step=9)
    (runs.run_dir(run) / "backbone.safetensors").write_bytes(b"later tensors")
    assert frozen.read_bytes() == b"tensors"
    later = cluster_run({"training_run": run.pk}).json()["embedding_model"]["weights"]
    assert later.endswith("step-9.safetensors") and Path(later).read_bytes() == b"later tensors"
    colour = cluster_run({"training_run": run.pk}, feature_kind="colour")
    assert colour.status_code == 400  # an embedding model only for embedding runs
    plain = cluster_run({"name": "vit_tiny_patch16_224", "image_size": 32})
    assert plain.status_code == 202, plain.json()  # the existing behaviour stays


@pytest.fixture
def tiled_config(aperio_slide):
    """A tiling config with one finished tiling (rows and an empty tile file)."""
    from django.conf import settings

    from webapp.tiling.models import SlideTiling, TilingConfig

    config = TilingConfig.objects.create(name="tc", params={}, key="t-tc")
    path = settings.DATA_ROOT / "tiles" / "one.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    SlideTiling.objects.create(
        slide=aperio_slide, config=config, status="done", path="tiles/one.parquet"
    )
    return config
