"""What the cluster and dataset browser tests start from: the demo slides registered and
tiled, and a small colour cluster run (k = 5, up to 100 tiles per slide) executed in-process."""

from webapp.clusters import starter_categories
from webapp.clusters.models import ClusterRun, SemanticCategory
from webapp.clusters.services import runs
from webapp.clusters.services.execution import run_execute
from webapp.slides.services import registration, roots
from webapp.tiling import services as tiling


def tiled_demo_run(admin, slide_root_dir) -> ClusterRun:
    # The seeded vocabulary is a data migration; a transactional test's flush removes it.
    starter_categories.load(SemanticCategory)
    root = roots.root_create(name="archive", path=str(slide_root_dir))
    registration.scan_run_inline(scan=registration.scan_start(root=root))
    config = tiling.config_create(
        name="quick", params={"tile_size": 64, "target_mpp": 1.0, "min_tissue_fraction": 0.5}
    )
    for tiling_id in tiling.run_tilings(tiling.run_start(config=config, untiled=True)):
        tiling.slide_tile(tiling_id=tiling_id)
    launched = runs.run_launch(
        actor=admin,
        config=config,
        feature_kind="colour",
        name="e2e colour k=5",
        params={"k": 5, "per_slide": 100, "iterations": 10, "seed": 0},
    )
    run = run_execute(launched.pk)
    assert run.status == "succeeded", (run.error, run.message)
    return run
