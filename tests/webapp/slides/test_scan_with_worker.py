"""A scan started over the API runs on a real Celery worker over the real broker."""

import time

import pytest

from tests.live_services import celery_worker
from tests.slide_corpus import write_bad_corpus
from webapp.slides.models import ScanJob, Slide, SlideStatus

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def wait_for_scan(client, scan_id: int, seconds: int = 120) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        scan = client.get(f"/api/scans/{scan_id}/").json()
        if scan["status"] in ("succeeded", "failed"):
            return scan
        time.sleep(0.3)
    raise AssertionError(f"scan {scan_id} still {scan['status']} after {seconds} s")


def test_scan_over_api_on_a_real_worker(api_as, settings, tmp_path, slide_root_dir):
    expected_bad = write_bad_corpus(slide_root_dir / "broken", tmp_path / "outside")
    admin = api_as("admin")
    root = admin.post(
        "/api/slide-roots/", {"name": "archive", "path": str(slide_root_dir)}, format="json"
    ).json()

    with celery_worker(settings.DATA_ROOT, tmp_path / "worker.log", SCAN_CHUNK_SIZE="2"):
        started = admin.post(f"/api/slide-roots/{root['id']}/scan/")
        assert started.status_code == 202 and started.json()["status"] == "queued"
        again = admin.post(f"/api/slide-roots/{root['id']}/scan/")
        assert again.status_code == 409  # one active scan per root
        scan = wait_for_scan(admin, started.json()["id"])

        assert scan["status"] == "succeeded", scan
        good = Slide.objects.filter(status=SlideStatus.REGISTERED).count()
        assert scan["registered"] == good > 0
        assert scan["failed"] == len(expected_bad)
        assert scan["total"] == scan["processed"] == good + len(expected_bad)
        assert ScanJob.objects.get(pk=scan["id"]).task_id

        # The worker rendered the thumbnails: the API serves them without reading slides.
        slide = Slide.objects.filter(status=SlideStatus.REGISTERED).first()
        assert admin.get(f"/api/slides/{slide.pk}/thumbnail/").status_code == 200

        rescan = wait_for_scan(
            admin, admin.post(f"/api/slide-roots/{root['id']}/scan/").json()["id"]
        )
        assert rescan["unchanged"] == rescan["total"] and rescan["registered"] == 0


def test_a_failing_chunk_fails_the_scan_instead_of_hanging(api_as, settings, tmp_path):
    from webapp.slides.services import registration, roots
    from webapp.slides.tasks import dispatch_chunks

    (tmp_path / "root").mkdir()
    root = roots.root_create(name="r", path=str(tmp_path / "root"))
    scan = registration.scan_start(root=root)
    with celery_worker(settings.DATA_ROOT, tmp_path / "worker.log"):
        # A chunk for a root that does not exist raises in the worker.
        dispatch_chunks(scan.pk, root.pk + 1000, [["a.svs"], ["b.svs"]])
        result = wait_for_scan(api_as("viewer"), scan.pk, seconds=60)
    assert result["status"] == "failed"
    assert "A part of the scan failed" in result["message"]
