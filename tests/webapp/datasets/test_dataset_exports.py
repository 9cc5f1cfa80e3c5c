"""WebDataset exports of a built version: shards readable with tarfile, a slide missing on
disk reported while the export goes on, an export whose worker died shown interrupted and
resumed (finished shards kept), roles and audit."""

import json
import tarfile
from datetime import timedelta

import pytest
from django.utils import timezone

from webapp.audit.models import AuditEvent
from webapp.datasets.models import ExportJob
from webapp.datasets.services import exports
from webapp.slides.models import Slide

pytestmark = pytest.mark.django_db


def _start(client, version, **body):
    return client.post(f"/api/datasets/{version.pk}/exports/", body, format="json")


def test_export_shards_and_a_missing_slide(ds, built, api_as, django_capture_on_commit_callbacks):
    version = built(budget=60)
    curator = api_as("pathologist")
    assert _start(api_as("viewer"), version).status_code == 403
    assert _start(curator, version, shard_size=0).status_code == 400
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        started = _start(curator, version, shard_size=25)
    assert started.status_code == 202, started.json()
    assert len(callbacks) == 1  # enqueued after commit
    job = started.json()
    assert job["status"] == "queued" and job["dataset"] == version.pk and job["shards"] == []
    assert AuditEvent.objects.filter(action="dataset.export").count() == 1

    # One slide of the manifest disappears from disk before the export.
    gone = Slide.objects.get(pk=version.stats and _first_slide(ds, version))
    moved = gone.absolute_path.with_suffix(".away")
    gone.absolute_path.rename(moved)
    try:
        done = exports.export_run(job["id"])
    finally:
        moved.rename(gone.absolute_path)
    assert done.status == "succeeded", done.error
    data = api_as("viewer").get(f"/api/exports/{job['id']}/").json()
    assert data["status"] == "succeeded" and data["progress_done"] == data["progress_total"]
    report = data["report"]
    assert [m["slide"] for m in report["missing_slides"]] == [gone.pk]
    assert report["tiles_written"] + report["tiles_skipped"] == version.row_count
    assert report["tiles_written"] > 0 and report["tiles_skipped"] > 0
    assert "missing on disk" in data["message"]
    names = [s["name"] for s in data["shards"]]
    assert names == [f"shard-{i:06d}.tar" for i in range(-(-version.row_count // 25))]

    folder = ds.data_root / done.folder
    members = []
    for name in names:
        with tarfile.open(folder / name) as tar:
            members += tar.getnames()
            for member in tar.getmembers():
                if member.name.endswith(".json"):
                    row = json.loads(tar.extractfile(member).read())
                    assert row["slide_id"] != gone.pk and row["category"] in ("Tumour", "Stroma")
    assert sum(m.endswith(".jpg") for m in members) == report["tiles_written"]
    listed = api_as("viewer").get(f"/api/datasets/{version.pk}/exports/").json()
    assert [j["id"] for j in listed] == [job["id"]]
    assert api_as("viewer").get(f"/api/exports/?dataset={version.pk}").json()["count"] == 1


def _first_slide(ds, version) -> int:
    import pyarrow.parquet as pq

    ids = pq.read_table(ds.data_root / version.folder / "manifest.parquet").column("slide_id")
    return ids.to_pylist()[0]


def test_an_interrupted_export_resumes_and_keeps_finished_shards(ds, built, curator, api_as):
    version = built(budget=50)
    job = exports.export_start(actor=curator, version=version, shard_size=20)
    assert exports.export_run(job.pk).status == "succeeded"
    folder = ds.data_root / job.folder
    first = folder / "shard-000000.tar"
    written = first.stat().st_mtime_ns
    (folder / "shard-000002.tar").unlink()  # the worker died while writing the last one

    # The worker died: running with a stale heartbeat shows as interrupted.
    ExportJob.objects.filter(pk=job.pk).update(
        status="running", heartbeat_at=timezone.now() - timedelta(hours=1)
    )
    assert not exports.alive_elsewhere(job.pk)
    shown = api_as("viewer").get(f"/api/exports/{job.pk}/").json()
    assert shown["status"] == "interrupted" and "heartbeat" in shown["message"]
    assert [s["name"] for s in shown["shards"]] == ["shard-000000.tar", "shard-000001.tar"]

    # The redelivered task continues: finished shards are kept, the missing one written.
    again = exports.export_run(job.pk)
    assert again.status == "succeeded"
    assert first.stat().st_mtime_ns == written
    assert (folder / "shard-000002.tar").is_file()
    # A finished export is not claimed again.
    assert exports.export_run(job.pk).status == "succeeded"


def test_only_built_versions_export(ds, curator, api_as):
    from tests.webapp.datasets.world import recipe_for
    from webapp.clusters.models import ClusterRun
    from webapp.datasets.services import versions

    draft = versions.version_create(
        actor=curator, name="d", cluster_run=ClusterRun.objects.get(pk=ds.run_id),
        recipe=recipe_for(ds),
    )  # fmt: skip
    refused = _start(api_as("pathologist"), draft)
    assert refused.status_code == 409 and refused.json()["code"] == "not_built"
    assert api_as("viewer").get("/api/exports/999999/").status_code == 404
