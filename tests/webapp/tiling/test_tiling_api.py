"""Tiling from the web app: configurations, runs on a real Celery worker, per-slide state,
idempotence, failures with reasons, overlays (mask, grid), the gallery, the CLI."""

import subprocess
import sys
import time
from io import BytesIO

import numpy as np
import pytest
from PIL import Image

from curation.tile_store import read_tile_metadata, read_tiles
from tests.live_services import REPO, celery_worker, process_env
from webapp.slides.models import Slide
from webapp.slides.services import registration, roots
from webapp.tiling.models import SlideTiling, TilingRun


def register(folder):
    root = roots.root_create(name=folder.name, path=str(folder))
    registration.scan_run_inline(scan=registration.scan_start(root=root))
    return root


@pytest.mark.django_db
def test_config_validation(api_as):
    admin = api_as("admin")
    ok = admin.post("/api/tiling-configs/", {"name": "paper", "params": {}}, format="json")
    assert ok.status_code == 201
    assert ok.json()["params"]["tile_size"] == 256 and ok.json()["params"]["target_mpp"] == 0.5
    assert ok.json()["key"].startswith("t256-m0.5-")
    for params, message in [
        ({"tile_size": 5}, "tile_size"),
        ({"colour": 1}, "Unknown"),
        ({"min_tissue_fraction": 2}, "min_tissue_fraction"),
    ]:
        bad = admin.post(
            "/api/tiling-configs/", {"name": f"x{len(message)}", "params": params}, format="json"
        )
        assert bad.status_code == 400 and message in bad.json()["detail"], bad.json()
    assert (
        api_as("pathologist")
        .post("/api/tiling-configs/", {"name": "p", "params": {}}, format="json")
        .status_code
        == 403
    )


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_run_on_a_real_worker(
    api_as, settings, tmp_path, slide_root_dir, no_mpp_slide, tiling_config
):
    register(slide_root_dir)
    register(no_mpp_slide.parent)
    admin = api_as("admin")
    slides = list(Slide.objects.filter(status="registered").values_list("pk", flat=True))
    with celery_worker(settings.DATA_ROOT, tmp_path / "worker.log"):
        run = admin.post(
            "/api/tiling-runs/", {"config": tiling_config.pk, "slides": slides}, format="json"
        )
        assert run.status_code == 202, run.json()
        run = wait_for_run(admin, run.json()["id"])
        assert run["status"] == "partial" and run["failed"] == 1
        assert run["done"] == len(slides) - 1 and run["tile_count"] > 0

        rows = admin.get(f"/api/tiling-runs/{run['id']}/slides/").json()["results"]
        failed = [r for r in rows if r["status"] == "failed"]
        assert failed[0]["slide_name"] == "unknown-scale.tiff"
        assert "mpp" in failed[0]["error"]
        done = [r for r in rows if r["status"] == "done"]
        assert all(r["tile_count"] > 0 and r["tissue_area_mm2"] > 0 for r in done)

        # The store: one Parquet file per slide with coordinates, features and metadata.
        tiling = SlideTiling.objects.get(pk=done[0]["id"])
        table = read_tiles(settings.DATA_ROOT / tiling.path)
        assert table.num_rows == tiling.tile_count
        assert {"x", "y", "size", "mpp", "tissue_fraction", "rgb_r_mean"} <= set(table.column_names)
        meta = read_tile_metadata(settings.DATA_ROOT / tiling.path)
        assert meta["config"]["tile_size"] == 128 and meta["slide_id"] == tiling.slide_id

        # Overlays and the gallery.
        mask = admin.get(done[0]["mask_url"])
        assert mask.status_code == 200 and mask["Content-Type"] == "image/png"
        mask_image = np.asarray(Image.open(BytesIO(b"".join(mask.streaming_content))))
        assert 0 < (mask_image > 0).mean() < 1  # some tissue, some background
        grid = admin.get(f"/api/slide-tilings/{tiling.pk}/grid/").json()
        assert len(grid["x"]) == tiling.tile_count and grid["size"] > 0
        gallery = api_as("viewer").get(f"/api/tiling-runs/{run['id']}/gallery/?n=4").json()
        assert len(gallery) == 4
        tile = api_as("viewer").get(gallery[0]["url"])
        assert tile.status_code == 200
        assert Image.open(BytesIO(tile.content)).size == (128, 128)

        # Again: every finished slide is skipped; the failed one fails again, clearly.
        again = admin.post(
            "/api/tiling-runs/", {"config": tiling_config.pk, "slides": slides}, format="json"
        ).json()
        again = wait_for_run(admin, again["id"])
        assert again["skipped"] == len(slides) - 1 and again["failed"] == 1

        # An admin sets the mpp of the slide that has none; now it tiles.
        bad_slide = Slide.objects.get(name="unknown-scale.tiff")
        assert (
            admin.post(
                f"/api/slides/{bad_slide.pk}/mpp-override/", {"mpp": 0.5}, format="json"
            ).status_code
            == 200
        )
        fixed = admin.post(
            "/api/tiling-runs/",
            {"config": tiling_config.pk, "slides": [bad_slide.pk]},
            format="json",
        )
        assert wait_for_run(admin, fixed.json()["id"])["done"] == 1
    meta = read_tile_metadata(settings.DATA_ROOT / SlideTiling.objects.get(slide=bad_slide).path)
    assert meta["mpp_source"] == "override"


def wait_for_run(client, run_id, seconds=180):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        run = client.get(f"/api/tiling-runs/{run_id}/").json()
        if run["status"] in ("succeeded", "partial", "failed"):
            return run
        time.sleep(0.3)
    raise AssertionError(f"run {run_id} still {run['status']} after {seconds} s")


@pytest.mark.django_db(transaction=True)
def test_cli_tiles_without_a_server(settings, slide_root_dir, tiling_config):
    register(slide_root_dir)
    result = subprocess.run(
        [sys.executable, "-m", "webapp.cli", "tile", "--config", "quick", "--untiled"],
        env=process_env(settings.DATA_ROOT),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    count = Slide.objects.count()
    assert f"{count} tiled, 0 already tiled, 0 failed" in result.stdout
    assert f"{count}/{count}" in result.stderr  # the progress bar
    assert TilingRun.objects.get().status == "succeeded"
    unknown = subprocess.run(
        [sys.executable, "-m", "webapp.cli", "tile", "--config", "nope", "--untiled"],
        env=process_env(settings.DATA_ROOT),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert unknown.returncode == 1 and "No tiling configuration 'nope'" in unknown.stderr


@pytest.mark.django_db
def test_run_selection_errors(api_as, tiling_config):
    admin = api_as("admin")
    none = admin.post("/api/tiling-runs/", {"config": tiling_config.pk}, format="json")
    assert none.status_code == 400 and "Choose slides" in none.json()["detail"]
    missing = admin.post(
        "/api/tiling-runs/", {"config": tiling_config.pk, "slides": [99999]}, format="json"
    )
    assert missing.status_code == 400 and "No registered slide" in missing.json()["detail"]
    assert (
        api_as("pathologist")
        .post("/api/tiling-runs/", {"config": tiling_config.pk, "untiled": True}, format="json")
        .status_code
        == 403
    )
