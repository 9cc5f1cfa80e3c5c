"""End to end: an admin selects a slide in the browser, tiles it with a configuration through
"Tile…", follows the run on a real Celery worker until it succeeds, sees the tile count and
the gallery, and checks the tissue-mask and tile-grid overlays in the viewer, in a real
browser against the live server."""

import pytest

from curation.tile_store import read_tiles
from tests.e2e.browser import ARTIFACTS, run_script, skip_reason
from tests.live_services import REPO, celery_worker, web_server
from webapp.slides.services import registration, roots
from webapp.tiling.models import RunStatus, SlideTiling, TileStatus, TilingRun
from webapp.tiling.services import config_create

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(skip_reason() is not None, reason=str(skip_reason())),
    pytest.mark.skipif(
        not (REPO / "frontend" / "e2e" / "tile-and-overlay.mjs").exists(),
        reason="frontend/e2e/tile-and-overlay.mjs is missing",
    ),
]


def test_admin_tiles_a_slide_and_sees_the_overlays(make_user, settings, tmp_path, slide_root_dir):
    make_user("admin", username="e2e-admin", password="e2e-Secret-passw0rd")
    root = roots.root_create(name="archive", path=str(slide_root_dir))
    registration.scan_run_inline(scan=registration.scan_start(root=root))
    # Small tiles at a coarse resolution keep the run quick on two cores.
    config = config_create(
        name="quick", params={"tile_size": 128, "target_mpp": 2.0, "min_tissue_fraction": 0.5}
    )

    with (
        celery_worker(settings.DATA_ROOT, tmp_path / "worker.log"),
        web_server(settings.DATA_ROOT, tmp_path / "web.log") as url,
    ):
        summary = run_script(
            "tile-and-overlay.mjs",
            url,
            tmp_path,
            E2E_USERNAME="e2e-admin",
            E2E_PASSWORD="e2e-Secret-passw0rd",
            E2E_CONFIG="quick",
            E2E_SLIDE="aperio",
        )
    print(summary)  # shown with -s, or with the failure
    assert summary["ok"] and summary["tiles"] > 0

    run = TilingRun.objects.get(pk=summary["run"])
    assert run.config == config and run.status == RunStatus.SUCCEEDED
    assert (run.total, run.done, run.failed, run.skipped) == (1, 1, 0, 0)
    assert run.tile_count == summary["tiles"]
    tiling = SlideTiling.objects.get(run=run)
    assert "aperio" in tiling.slide.name
    assert tiling.status == TileStatus.DONE and tiling.tile_count == summary["tiles"]
    parquet = settings.DATA_ROOT / tiling.path
    assert parquet.is_file() and parquet.suffix == ".parquet"
    assert read_tiles(parquet).num_rows == summary["tiles"]
    for name in ("tiling-run.png", "overlay.png"):
        assert (ARTIFACTS / name).stat().st_size > 10_000
