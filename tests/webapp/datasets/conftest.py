"""A small curated world shared by a test module: the demo slides registered and tiled
(64 px at 1 µm/px), a finished colour cluster run (k = 5) with decisions (three clusters
accepted into Tumour, Stroma and Immune cells, one merged into the Tumour cluster, one
rejected), and two slide groups. Made once per module and committed (tiling and clustering
cost seconds), each test then runs in its own transaction over it and writes its files under
the module's DATA_ROOT; the rows are deleted when the module ends. Nothing here is audited,
so no audit row outlives the module."""

import shutil
from pathlib import Path

import pytest
from django.test import override_settings

from tests.webapp.clusters.quick import QUICK
from tests.webapp.datasets.world import World, recipe_for


def _make(data_root: Path, archive: Path) -> World:
    from webapp.clusters import starter_categories
    from webapp.clusters.models import Cluster, ClusterRun, SemanticCategory
    from webapp.clusters.services import runs
    from webapp.clusters.services.execution import run_execute
    from webapp.slides.services import registration, roots
    from webapp.tagging.models import GroupKind, SlideGroup
    from webapp.tiling import services as tiling

    starter_categories.load(SemanticCategory)
    root = roots.root_create(name="ds-archive", path=str(archive))
    registration.scan_run_inline(scan=registration.scan_start(root=root))
    config = tiling.config_create(
        name="ds-quick", params={"tile_size": 64, "target_mpp": 1.0, "min_tissue_fraction": 0.5}
    )
    for tiling_id in tiling.run_tilings(tiling.run_start(config=config, untiled=True)):
        tiling.slide_tile(tiling_id=tiling_id)
    library = runs.kmeans_params({k: v for k, v in QUICK.items() if k != "per_slide"}).to_dict()
    params = {k: QUICK["per_slide"] if k == "per_slide" else library[k] for k in runs.PARAM_NAMES}
    run = ClusterRun.objects.create(
        name="ds run", config=config, feature_kind="colour", params=params
    )
    run.folder = f"clusters/run-{run.pk}"
    run.save(update_fields=["folder"])
    run = run_execute(run.pk)
    assert run.status == "succeeded", (run.error, run.message)

    cats = {c.name: c.pk for c in SemanticCategory.objects.all()}
    clusters = {c.index: c for c in Cluster.objects.filter(run=run)}
    for index, name in [(0, "Tumour"), (1, "Stroma"), (2, "Immune cells")]:
        Cluster.objects.filter(pk=clusters[index].pk).update(
            status="accepted", category_id=cats[name], version=2
        )
    Cluster.objects.filter(pk=clusters[3].pk).update(
        status="merged", merged_into=clusters[0], version=2
    )
    Cluster.objects.filter(pk=clusters[4].pk).update(
        status="rejected", reject_reason="background", version=2
    )
    slide_ids = sorted(root.slides.values_list("pk", flat=True))
    group_a = SlideGroup.objects.create(name="ds first two", kind=GroupKind.EXPLICIT, weight=2)
    group_a.members.set(slide_ids[:2])
    group_b = SlideGroup.objects.create(name="ds all", kind=GroupKind.EXPLICIT, weight=1)
    group_b.members.set(slide_ids)
    return World(
        data_root=data_root,
        archive=archive,
        run_id=run.pk,
        group_a=group_a.pk,
        group_b=group_b.pk,
        slide_ids=slide_ids,
        categories=cats,
    )


def _remove(world: World) -> None:
    from webapp.clusters.models import Cluster, ClusterRun
    from webapp.datasets.models import DatasetVersion
    from webapp.slides.models import ScanJob, Slide, SlideRoot
    from webapp.tagging.models import SlideGroup
    from webapp.tiling.models import SlideTiling, TilingConfig, TilingRun

    DatasetVersion.objects.filter(cluster_run_id=world.run_id).delete()
    Cluster.objects.filter(run_id=world.run_id).delete()
    ClusterRun.objects.filter(pk=world.run_id).delete()
    SlideGroup.objects.filter(pk__in=[world.group_a, world.group_b]).delete()
    SlideTiling.objects.filter(slide_id__in=world.slide_ids).delete()
    TilingRun.objects.filter(config__name="ds-quick").delete()
    TilingConfig.objects.filter(name="ds-quick").delete()
    Slide.objects.filter(pk__in=world.slide_ids).delete()
    ScanJob.objects.filter(root__name="ds-archive").delete()
    SlideRoot.objects.filter(name="ds-archive").delete()


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory, demo_slide_dir):
    from webapp.audit.models import AuditEvent

    data_root = tmp_path_factory.mktemp("ds-data")
    archive = tmp_path_factory.mktemp("ds-archive")
    shutil.copytree(demo_slide_dir, archive / "lab_a")
    with django_db_blocker.unblock(), override_settings(DATA_ROOT=data_root, SLIDE_ROOTS=[]):
        audited = AuditEvent.objects.count()
        made = _make(data_root, archive)
        assert AuditEvent.objects.count() == audited
        try:
            yield made
        finally:
            _remove(made)


@pytest.fixture
def ds(world, data_root, settings, db) -> World:
    """The module's world, with DATA_ROOT pointing at its files for this test."""
    settings.DATA_ROOT = world.data_root
    return world


@pytest.fixture
def curator(make_user):
    return make_user("pathologist", username="pathologist-user")


@pytest.fixture
def built(ds, curator):
    """`built(**recipe changes)` → a version built in-process through the services."""
    from webapp.clusters.models import ClusterRun
    from webapp.datasets.services import builds, versions

    def make(name: str = "v", **changes):
        version = versions.version_create(
            actor=curator,
            name=name,
            cluster_run=ClusterRun.objects.get(pk=ds.run_id),
            recipe=recipe_for(ds, **changes),
        )
        builds.version_build_start(actor=curator, version=version)
        version = builds.version_build(version.pk)
        assert version.status == "built", (version.error, version.message)
        return version

    return make
