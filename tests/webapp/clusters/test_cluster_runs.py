"""Cluster runs: launch (validation, roles), the phases in-process and on a real Celery
worker, files under DATA_ROOT, Cluster rows, determinism, embeddings, failures, cancel,
interrupted runs and resume."""

import time
from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone

from curation.embeddings import EmbeddingModelSpec, embedding_path, model_key
from tests.live_services import celery_worker
from tests.webapp.clusters.quick import QUICK
from webapp.audit.models import AuditEvent
from webapp.clusters.models import Cluster, ClusterRun
from webapp.clusters.services import execution, runs
from webapp.clusters.services.execution import run_execute
from webapp.tiling.models import SlideTiling, TilingConfig

RUN_FIELDS = {
    "id", "name", "config", "config_name", "feature_kind", "embedding_model", "params",
    "selection", "status", "phase", "progress_done", "progress_total", "message", "error",
    "device", "slide_count", "tile_count", "inertia", "locked", "locked_by", "locked_at",
    "review", "created_by", "created_at", "started_at", "finished_at",
}  # fmt: skip


@pytest.mark.django_db
def test_a_run_in_process(finished_run, api_as, settings):
    run = finished_run
    folder = settings.DATA_ROOT / run.folder
    assert run.folder == f"clusters/run-{run.pk}"
    for name in ["model.npz", "slides.parquet", "clusters.parquet", "composition.parquet"]:
        assert (folder / name).is_file(), name
    assert (folder / "map.parquet").is_file() and (folder / "similar.faiss").is_file()
    tilings = SlideTiling.objects.filter(config=run.config, status="done")
    assert run.slide_count == tilings.count() and run.failed_slides == []
    assert run.tile_count == sum(t.tile_count for t in tilings)
    for tiling in tilings:  # one label file per slide, one row per tile
        assert any((folder / "labels").rglob(f"{tiling.fingerprint}.parquet"))

    # One row per cluster, never per tile.
    clusters = list(Cluster.objects.filter(run=run).order_by("index"))
    assert [c.index for c in clusters] == list(range(QUICK["k"]))
    assert sum(c.size for c in clusters) == run.tile_count
    assert sum(c.share for c in clusters) == pytest.approx(1.0)
    for c in clusters:
        assert 1 <= c.slide_count <= run.slide_count and c.map_x is not None
        assert {"pixel_tissue_fraction", "sharpness", "pen_score", "white_score"} <= set(c.quality)
        assert sum(e["count"] for e in c.composition["slide"]) == c.size
        assert 1 <= len(c.exemplars["representative"]) <= 12

    data = api_as("viewer").get(f"/api/cluster-runs/{run.pk}/").json()
    assert RUN_FIELDS <= set(data)
    assert data["status"] == "succeeded" and data["phase"] == "done"
    assert data["progress_done"] == data["progress_total"] and data["device"] == "cpu"
    assert data["params"] == {
        "k": 5, "per_slide": 100, "iterations": 10, "restarts": 1, "spherical": False,
        "method": "flat", "levels": [], "seed": 0,
    }  # fmt: skip
    assert data["selection"] == {"slides": [], "group": None}
    assert data["created_by"] == "admin-user" and data["inertia"] > 0
    assert data["review"] == {
        "total": 5, "reviewed": 0, "accepted": 0, "rejected": 0, "merged": 0, "disagreements": 0
    }  # fmt: skip
    listed = api_as("viewer").get("/api/cluster-runs/?status=succeeded").json()
    assert [r["id"] for r in listed["results"]] == [run.pk]

    # Running it again changes nothing: every phase finds its output.
    again = run_execute(run.pk)
    assert again.status == "succeeded" and Cluster.objects.filter(run=run).count() == 5


@pytest.mark.django_db
def test_same_parameters_and_seed_give_the_same_clusters(launch):
    def sizes(run):
        run = run_execute(run.pk)
        return [c.size for c in Cluster.objects.filter(run=run).order_by("index")]

    first = sizes(launch())
    assert first == sizes(launch())
    assert sum(first) == sum(sizes(launch(seed=7)))
    hierarchical = sizes(launch(method="hierarchical", levels=[12]))
    assert len(hierarchical) == QUICK["k"] and sum(hierarchical) == sum(first)


@pytest.mark.django_db
def test_launch_through_the_api(api_as, tiled, django_capture_on_commit_callbacks):
    admin = api_as("admin")
    body = {"config": tiled.pk, **QUICK}
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        created = admin.post("/api/cluster-runs/", body, format="json")
    assert created.status_code == 202, created.json()
    assert created.json()["status"] == "queued" and created.json()["name"] == "Colour k=5"
    assert len(callbacks) == 1  # enqueued after commit
    assert AuditEvent.objects.filter(action="cluster_run.launch").count() == 1

    for change, message in [
        ({"k": 1}, "k"),
        ({"per_slide": 0}, "per_slide"),
        ({"method": "hierarchical", "levels": [3]}, "levels"),
        ({"levels": [50]}, "levels"),
        ({"feature_kind": "embedding"}, "name"),
        ({"embedding_model": {"name": "vit_tiny_patch16_224"}}, "embedding"),
        ({"group": 999}, "group"),
        ({"slides": [99999]}, "No slide"),
        ({"feature_kind": "pixels"}, "feature_kind"),
    ]:
        bad = admin.post("/api/cluster-runs/", {**body, **change}, format="json")
        assert bad.status_code == 400 and message in bad.json()["detail"], (change, bad.json())
    untiled = TilingConfig.objects.create(name="never used", params={}, key="t-unused")
    bad = admin.post("/api/cluster-runs/", {**body, "config": untiled.pk}, format="json")
    assert bad.status_code == 400 and bad.json()["code"] == "no_slides"
    for role in ("pathologist", "viewer"):
        assert api_as(role).post("/api/cluster-runs/", body, format="json").status_code == 403


@pytest.mark.django_db
def test_missing_tiles_are_skipped_or_reported(launch, settings):
    tilings = list(SlideTiling.objects.filter(status="done").order_by("slide_id"))
    SlideTiling.objects.filter(pk=tilings[0].pk).update(status="failed", error="unreadable")
    (settings.DATA_ROOT / tilings[1].path).unlink()
    run = run_execute(launch().pk)
    assert run.status == "succeeded", run.error
    assert run.skipped_slides == 1 and run.slide_count == len(tilings) - 2
    assert [sid for sid, _ in run.failed_slides] == [tilings[1].slide_id]
    assert "1 slide(s) skipped" in run.message and "1 slide(s) failed" in run.message


@pytest.mark.django_db
def test_cancel(launch, admin, monkeypatch, settings, api_as):
    queued = launch()
    assert api_as("admin").post(f"/api/cluster-runs/{queued.pk}/cancel/").json()["status"] == (
        "cancelled"
    )
    assert run_execute(queued.pk).status == "cancelled"  # a late task leaves it alone

    # A running run stops at its next check: here after sampling, before training.
    original = execution.sample_features

    def sample_then_cancel(*args, **kwargs):
        result = original(*args, **kwargs)
        runs.run_cancel(actor=admin, run=ClusterRun.objects.get(pk=running.pk))
        return result

    monkeypatch.setattr(execution, "sample_features", sample_then_cancel)
    running = launch()
    run = run_execute(running.pk)
    assert run.status == "cancelled" and run.phase == "sampling" and run.finished_at
    assert not (settings.DATA_ROOT / run.folder / "model.npz").exists()
    again = api_as("admin").post(f"/api/cluster-runs/{run.pk}/cancel/")
    assert again.status_code == 409 and again.json()["code"] == "finished"
    assert AuditEvent.objects.filter(action="cluster_run.cancel").count() == 2


@pytest.mark.django_db
def test_a_dead_worker_shows_as_interrupted_and_resumes(
    launch, monkeypatch, settings, api_as, django_capture_on_commit_callbacks
):
    run = launch()

    def worker_dies(*args, **kwargs):
        raise SystemExit("killed")  # not an Exception: nothing in the task catches it

    monkeypatch.setattr(execution.cluster_assign, "assign_sources", worker_dies)
    with pytest.raises(SystemExit):
        run_execute(run.pk)
    monkeypatch.undo()
    model = settings.DATA_ROOT / run.folder / "model.npz"
    trained_at = model.stat().st_mtime_ns
    admin = api_as("admin")
    assert admin.get(f"/api/cluster-runs/{run.pk}/").json()["status"] == "running"

    stale = timezone.now() - timedelta(seconds=settings.CLUSTER_HEARTBEAT_STALE_S + 1)
    ClusterRun.objects.filter(pk=run.pk).update(heartbeat_at=stale)
    shown = admin.get(f"/api/cluster-runs/{run.pk}/").json()
    assert shown["status"] == "interrupted" and shown["phase"] == "assigning"
    assert "resume" in shown["message"]
    assert api_as("pathologist").post(f"/api/cluster-runs/{run.pk}/resume/").status_code == 403
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        resumed = admin.post(f"/api/cluster-runs/{run.pk}/resume/")
    assert resumed.status_code == 200 and resumed.json()["status"] == "queued"
    assert len(callbacks) == 1

    assert run_execute(run.pk, attempt=0).status == "queued"  # the old delivery steps aside
    done = run_execute(run.pk, attempt=1)
    assert done.status == "succeeded", done.error
    assert model.stat().st_mtime_ns == trained_at  # training was not repeated
    assert Cluster.objects.filter(run=run).count() == QUICK["k"]
    again = admin.post(f"/api/cluster-runs/{run.pk}/resume/")
    assert again.status_code == 409 and again.json()["code"] == "not_resumable"


@pytest.mark.django_db
def test_a_redelivered_copy_waits_while_the_live_one_beats(launch, monkeypatch, settings):
    from webapp.clusters import tasks

    run = launch()
    ClusterRun.objects.filter(pk=run.pk).update(status="running", heartbeat_at=timezone.now())
    assert execution.alive_elsewhere(run.pk, run.attempt)
    assert not execution.alive_elsewhere(run.pk, run.attempt + 1)
    waits = []

    def the_live_copy_goes_silent(seconds):
        waits.append(seconds)
        stale = timezone.now() - timedelta(seconds=settings.CLUSTER_HEARTBEAT_STALE_S + 1)
        ClusterRun.objects.filter(pk=run.pk).update(heartbeat_at=stale)

    monkeypatch.setattr(tasks.time, "sleep", the_live_copy_goes_silent)
    assert tasks.execute_run.run(run.pk, run.attempt) == "succeeded"  # took over
    assert waits == [settings.CLUSTER_HEARTBEAT_EVERY_S]


@pytest.mark.django_db
def test_too_few_tiles_for_k_fails_with_the_reason(launch):
    run = run_execute(launch(k=5000).pk)
    assert run.status == "failed" and "fewer than k = 5000" in run.error


@pytest.mark.django_db
def test_embedding_run(admin, tiled, settings):
    spec = EmbeddingModelSpec("vit_tiny_patch16_224", image_size=32, batch_size=128)
    two = list(
        SlideTiling.objects.filter(config=tiled, status="done")
        .order_by("tile_count")
        .values_list("slide_id", flat=True)[:2]
    )

    def embed_run():
        run = runs.run_launch(
            actor=admin,
            config=tiled,
            feature_kind="embedding",
            embedding_model=spec.to_dict(),
            params={**QUICK, "k": 4, "spherical": True},
            slide_ids=two,
        )
        return run_execute(run.pk)

    run = embed_run()
    assert run.status == "succeeded", run.error
    assert run.embedding_model["name"] == "vit_tiny_patch16_224"
    files = [
        embedding_path(settings.DATA_ROOT, model_key(spec), tiled.key, t.fingerprint)
        for t in SlideTiling.objects.filter(slide_id__in=two, config=tiled)
    ]
    for path, tiling in zip(files, SlideTiling.objects.filter(slide_id__in=two), strict=True):
        assert np.load(path, mmap_mode="r").shape == (tiling.tile_count, 192)
    written = [p.stat().st_mtime_ns for p in files]
    assert Cluster.objects.filter(run=run).count() == 4
    assert embed_run().status == "succeeded"
    assert [p.stat().st_mtime_ns for p in files] == written  # embeddings are reused


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_run_on_a_real_worker(api_as, tiled, settings, tmp_path):
    """The launch goes to the gpu queue; the test worker consumes every queue (on the CPU)."""
    admin = api_as("admin")
    with celery_worker(settings.DATA_ROOT, tmp_path / "worker.log"):
        created = admin.post("/api/cluster-runs/", {"config": tiled.pk, **QUICK}, format="json")
        assert created.status_code == 202, created.json()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            run = admin.get(f"/api/cluster-runs/{created.json()['id']}/").json()
            if run["status"] not in ("queued", "running"):
                break
            time.sleep(0.3)
    assert run["status"] == "succeeded", (run, (tmp_path / "worker.log").read_text()[-3000:])
    assert run["tile_count"] > 0 and run["review"]["total"] == QUICK["k"]
    assert "clusters.execute_run" in (tmp_path / "worker.log").read_text()
