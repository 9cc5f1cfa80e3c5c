"""End to end: a pathologist builds a curated dataset version in a real browser against the
live server and a real Celery worker: a new draft on a finished, fully reviewed cluster run,
a weighted group and two weighted categories with the live preview following, the build, the
version's composition, and a read-only API token. Then, as an outside script would, the
manifest is downloaded with that token and checked against the API (row count, checksum), a
WebDataset export is started with a full token and one shard is downloaded with the read one."""

import hashlib
import io
import subprocess
import sys
import tarfile
import time

import pyarrow.parquet as pq
import pytest
import requests

from tests.e2e.browser import ARTIFACTS, run_script, skip_reason
from tests.e2e.demo_run import tiled_demo_run
from tests.live_services import REPO, celery_worker, web_server
from webapp.accounts.services import api_token_create
from webapp.audit.models import AuditEvent
from webapp.clusters.models import Cluster, SemanticCategory
from webapp.clusters.services import review
from webapp.datasets.models import DatasetVersion
from webapp.slides.models import Slide
from webapp.tagging.models import GroupKind
from webapp.tagging.services.groups import group_create, group_members_change

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(skip_reason() is not None, reason=str(skip_reason())),
    pytest.mark.skipif(
        not (REPO / "frontend" / "e2e" / "build-dataset.mjs").exists(),
        reason="frontend/e2e/build-dataset.mjs is missing",
    ),
]

PASSWORD = "e2e-Secret-passw0rd"
GROUP = "e2e colon"
# Cluster index → the pathologist's decision: two categories, one cluster rejected.
DECISIONS = {0: "Tumour", 1: "Stroma", 2: "Tumour", 3: "Stroma", 4: None}


def _prepare(admin, pathologist, slide_root_dir):
    """Demo slides registered and tiled, a k=5 colour run executed in-process, every cluster
    decided through the review service, and an explicit group of every slide."""
    run = tiled_demo_run(admin, slide_root_dir)
    categories = {c.name: c for c in SemanticCategory.objects.all()}
    for cluster in Cluster.objects.filter(run=run).order_by("index"):
        name = DECISIONS[cluster.index]
        decision = (
            review.decision_check(status="accepted", category=categories[name])
            if name
            else review.decision_check(status="rejected", reject_reason="background")
        )
        review.cluster_decide(
            actor=pathologist, cluster=cluster, version=cluster.version, decision=decision
        )
    assert not Cluster.objects.filter(run=run, status="unreviewed").exists()
    group = group_create(actor=admin, name=GROUP, kind=GroupKind.EXPLICIT, weight=1.0)
    slides = list(Slide.objects.filter(status="registered").values_list("pk", flat=True))
    group_members_change(actor=admin, group=group, add=slides)
    return run, group


def _wait(predicate, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"gave up waiting for {what}")


def test_pathologist_builds_a_dataset_and_a_script_downloads_it(
    make_user, settings, tmp_path, slide_root_dir
):
    admin = make_user("admin", username="e2e-admin")
    pathologist = make_user("pathologist", username="e2e-pathologist", password=PASSWORD)
    run, group = _prepare(admin, pathologist, slide_root_dir)

    with (
        web_server(settings.DATA_ROOT, tmp_path / "web.log") as url,
        celery_worker(settings.DATA_ROOT, tmp_path / "worker.log"),
    ):
        summary = run_script(
            "build-dataset.mjs",
            url,
            tmp_path,
            E2E_USERNAME="e2e-pathologist",
            E2E_PASSWORD=PASSWORD,
            E2E_RUN=str(run.pk),
            E2E_GROUP=GROUP,
            E2E_CATEGORIES="Tumour,Stroma",
            E2E_NAME="e2e colon v1",
            E2E_BUDGET="300",
        )
        print(summary)  # shown with -s, or with the failure

        # What the browser did is what the server holds.
        version = DatasetVersion.objects.get(pk=summary["dataset"])
        assert version.status == "built", (version.error, version.message)
        assert version.created_by == pathologist and version.built_by == pathologist
        assert version.cluster_run_id == run.pk and version.name == "e2e colon v1"
        tumour, stroma = (SemanticCategory.objects.get(name=n).pk for n in ("Tumour", "Stroma"))
        assert version.recipe["groups"] == [{"group": group.pk, "weight": 2.0}]
        assert version.recipe["categories"] == [
            {"category": tumour, "weight": 2.0},
            {"category": stroma, "weight": None},
        ]
        assert version.recipe["budget"] == 300
        assert version.recipe["split"] == {"by": "slide", "validation_fraction": 0.34}
        assert summary["rows"] == version.row_count > 0
        assert summary["checksum"] == version.checksum and len(version.checksum) == 64
        assert version.row_count + version.shortfall == 300

        # The preview followed the weights: only the ticked categories, Tumour about twice
        # Stroma (unless Stroma ran out of eligible tiles), and few requests for many edits.
        cells = summary["preview"]["cells"]
        assert set(cells) == {f"{GROUP}/Tumour", f"{GROUP}/Stroma"}
        (t_est, t_elig), (s_est, s_elig) = cells[f"{GROUP}/Tumour"], cells[f"{GROUP}/Stroma"]
        assert t_est + s_est == summary["preview"]["estimated_total"] <= 300
        assert t_est <= t_elig and s_est <= s_elig
        if s_est < s_elig and t_est < t_elig:
            assert abs(t_est - 2 * s_est) <= 2, cells
        assert 1 <= summary["preview"]["requests_for_edits"] <= 3, summary["preview"]
        # The composition on the version page is the build's.
        achieved = {
            f"{c['group']}/{c['category']}": [c["achieved"], c["target"]]
            for c in version.stats["cells"]
        }
        assert summary["achieved"] == achieved
        assert sum(a for a, _ in achieved.values()) == version.row_count
        assert summary["downloads"] == [
            f"/api/datasets/{version.pk}/manifest.{fmt}" for fmt in ("parquet", "csv", "jsonl")
        ]
        assert summary["answers"]["POST /api/datasets/N/build/"] == [202]
        assert summary["answers"]["POST /api/tokens/"] == [201]
        assert AuditEvent.objects.filter(
            action="dataset.build", object_id=str(version.pk), actor=pathologist
        ).exists()

        # The outside script: the manifest with the read token, checked against the API.
        read = {"Authorization": f"Token {summary['token']}"}
        # First the page's own Python snippet, run as it is shown: download and verify.
        assert f"DATASET = {version.pk}" in summary["snippet"]
        script = tmp_path / "outside" / "download.py"
        script.parent.mkdir()
        script.write_text(summary["snippet"])
        done = subprocess.run(
            [sys.executable, str(script)],
            cwd=script.parent,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"{version.row_count} rows, sha256 {version.checksum}" in done.stdout
        assert pq.read_metadata(script.parent / "manifest.parquet").num_rows == version.row_count
        api = requests.get(f"{url}/api/datasets/{version.pk}/", headers=read, timeout=30)
        assert api.status_code == 200, api.text
        meta = api.json()
        assert meta["row_count"] == version.row_count and meta["checksum"] == version.checksum
        got = requests.get(f"{url}{meta['manifest']['parquet']}", headers=read, timeout=60)
        assert got.status_code == 200, got.text[:500]
        assert int(got.headers["Content-Length"]) == len(got.content)
        assert hashlib.sha256(got.content).hexdigest() == meta["checksum"]
        assert got.headers["ETag"].strip('"').startswith(meta["checksum"])
        table = pq.read_table(io.BytesIO(got.content))
        assert table.num_rows == meta["row_count"]
        assert set(table.column("group").to_pylist()) == {GROUP}
        assert set(table.column("category").to_pylist()) <= {"Tumour", "Stroma"}
        unchanged = requests.get(
            f"{url}{meta['manifest']['parquet']}",
            headers={**read, "If-None-Match": got.headers["ETag"]},
            timeout=30,
        )
        assert unchanged.status_code == 304
        # A read token reads only; no key at all is refused.
        refused = requests.post(f"{url}/api/datasets/{version.pk}/clone/", headers=read, timeout=30)
        assert refused.status_code == 403, refused.text
        assert requests.get(f"{url}{meta['manifest']['parquet']}", timeout=30).status_code in (
            401,
            403,
        )

        # A WebDataset export started with a full token, one shard fetched with the read one.
        _, full_key = api_token_create(user=pathologist, name="e2e full", scope="full")
        full = {"Authorization": f"Token {full_key}"}
        started = requests.post(
            f"{url}/api/datasets/{version.pk}/exports/",
            json={"kind": "webdataset", "shard_size": 100},
            headers=full,
            timeout=30,
        )
        assert started.status_code == 202, started.text
        job_url = f"{url}/api/exports/{started.json()['id']}/"

        def finished():
            job = requests.get(job_url, headers=read, timeout=30).json()
            return job if job["status"] not in ("queued", "running") else None

        job = _wait(finished, 90, "the export to finish")
        log = (tmp_path / "worker.log").read_text()
        assert job["status"] == "succeeded", (job, log[-3000:])
        assert job["report"]["tiles_written"] == version.row_count
        assert job["report"]["missing_slides"] == []
        expected_shards = -(-version.row_count // 100)
        assert len(job["shards"]) == expected_shards, job["shards"]
        shard = job["shards"][0]
        tar = requests.get(f"{url}{shard['url']}", headers=read, timeout=60)
        assert tar.status_code == 200 and len(tar.content) == shard["size"]
        with tarfile.open(fileobj=io.BytesIO(tar.content)) as archive:
            names = archive.getnames()
        assert len(names) == 2 * min(100, version.row_count)
        assert {n.rsplit(".", 1)[1] for n in names} == {"jpg", "json"}

    assert "datasets.build_version" in log and "datasets.export" in log
    for name in ("dataset-builder.png", "dataset-version.png", "dataset-token.png"):
        assert (ARTIFACTS / name).stat().st_size > 10_000
