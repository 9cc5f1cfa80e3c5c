"""Fixtures for cluster runs: demo slides registered and tiled through the real services,
the seeded semantic vocabulary, and a small colour run executed in-process."""

import pytest

from tests.webapp.clusters.quick import QUICK
from webapp.clusters import starter_categories
from webapp.clusters.models import ClusterRun, SemanticCategory
from webapp.clusters.services import runs
from webapp.clusters.services.execution import run_execute
from webapp.slides.services import registration, roots
from webapp.tiling import services as tiling


@pytest.fixture
def categories(db) -> dict[str, SemanticCategory]:
    """The seeded vocabulary (a data migration; a transactional test's flush removes it)."""
    starter_categories.load(SemanticCategory)
    return {c.name: c for c in SemanticCategory.objects.all()}


@pytest.fixture
def tiled(db, slide_root_dir):
    """The archive's slides registered and tiled (64 px at 1 µm/px) with the services."""
    root = roots.root_create(name="archive", path=str(slide_root_dir))
    registration.scan_run_inline(scan=registration.scan_start(root=root))
    config = tiling.config_create(
        name="quick", params={"tile_size": 64, "target_mpp": 1.0, "min_tissue_fraction": 0.5}
    )
    run = tiling.run_start(config=config, untiled=True)
    for tiling_id in tiling.run_tilings(run):
        tiling.slide_tile(tiling_id=tiling_id)
    return config


@pytest.fixture
def admin(make_user):
    return make_user("admin", username="admin-user")


@pytest.fixture
def launch(admin, tiled):
    """`launch(**overrides)` → a queued run over every slide tiled with the quick config."""

    def make(**overrides) -> ClusterRun:
        params = {**QUICK, **{k: v for k, v in overrides.items() if k in runs.PARAM_NAMES}}
        rest = {k: v for k, v in overrides.items() if k not in runs.PARAM_NAMES}
        return runs.run_launch(
            actor=admin, config=tiled, feature_kind="colour", params=params, **rest
        )

    return make


@pytest.fixture
def finished_run(launch) -> ClusterRun:
    """A colour run executed in-process to success."""
    run = run_execute(launch().pk)
    assert run.status == "succeeded", (run.error, run.message)
    return run


@pytest.fixture
def review_run(db, admin) -> ClusterRun:
    """A finished run's rows without files: enough for decisions, votes and merges."""
    from webapp.clusters.models import Cluster
    from webapp.tiling.models import TilingConfig

    config = TilingConfig.objects.create(name="rows only", params={}, key="t-rows-only")
    run = ClusterRun.objects.create(
        name="rows", config=config, feature_kind="colour", params=QUICK, status="succeeded"
    )
    Cluster.objects.bulk_create(
        [Cluster(run=run, index=i, size=100 * (i + 1), share=0.25) for i in range(4)]
    )
    return run
