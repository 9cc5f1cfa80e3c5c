"""Dataset versions on a finished, reviewed cluster run: recipe validation, preview,
building in-process (weights, caps, categories, determinism), immutability, the unreviewed
refusal, budget shortfalls, stats, diff, and a build launched through the API on a real
Celery worker."""

import time

import pyarrow.parquet as pq
import pytest

from tests.live_services import celery_worker
from tests.webapp.datasets.world import recipe_for
from webapp.audit.models import AuditEvent
from webapp.clusters.models import Cluster, ClusterRun
from webapp.datasets.models import DatasetVersion
from webapp.datasets.services import builds, versions

VERSION_FIELDS = {
    "id", "name", "status", "cluster_run", "cluster_run_name", "recipe", "inputs", "parent",
    "checksum", "row_count", "progress_done", "progress_total", "message", "error", "shortfall",
    "created_by", "created_at", "built_by", "built_at", "manifest",
}  # fmt: skip


def _create(client, ds, **changes):
    return client.post(
        "/api/datasets/",
        {"name": "colon v1", "cluster_run": ds.run_id, "recipe": recipe_for(ds, **changes)},
        format="json",
    )


@pytest.mark.django_db
def test_drafts_validation_and_preview(ds, api_as):
    curator = api_as("pathologist")
    created = _create(curator, ds)
    assert created.status_code == 201, created.json()
    data = created.json()
    assert set(data) == VERSION_FIELDS
    assert data["status"] == "draft" and data["manifest"] is None and data["checksum"] == ""
    assert data["recipe"]["include_unreviewed"] is False  # defaults filled in
    assert data["recipe"]["quality"] == {
        "min_tissue_fraction": 0.0, "min_sharpness": None, "max_pen_score": None
    }  # fmt: skip
    assert AuditEvent.objects.filter(action="dataset.create", object_id=str(data["id"])).exists()

    for change, code, words in [
        ({"groups": [{"group": 999999, "weight": 1}]}, "unknown_group", "999999"),
        ({"categories": [{"category": 999999, "weight": 1}]}, "unknown_category", "999999"),
        ({"budget": -5}, "invalid_recipe", "budget"),
        ({"budget": "many"}, "invalid_recipe", "budget"),
        ({"groups": [{"group": ds.group_a, "weight": -1}]}, "invalid_recipe", "weight"),
        ({"split": {"by": "lab"}}, "invalid_recipe", "split.by"),
        ({"quality": {"min_tissue_fraction": 2}}, "invalid_recipe", "min_tissue_fraction"),
        ({"colour": 1}, "invalid_recipe", "colour"),
    ]:
        bad = _create(curator, ds, **change)
        assert bad.status_code == 400, (change, bad.json())
        assert bad.json()["code"] == code and words in bad.json()["detail"], bad.json()
    bad = curator.post("/api/datasets/", {"name": "x", "cluster_run": 999999}, format="json")
    assert bad.status_code == 400 and bad.json()["fields"]["cluster_run"]
    queued = ClusterRun.objects.create(
        name="q", config=ClusterRun.objects.get(pk=ds.run_id).config, feature_kind="colour",
        params={},
    )  # fmt: skip
    bad = curator.post("/api/datasets/", {"name": "x", "cluster_run": queued.pk}, format="json")
    assert bad.status_code == 400 and bad.json()["code"] == "run_not_ready"

    # Preview: everyone may ask; from the composition, no build.
    pk = data["id"]
    shown = api_as("viewer").post(f"/api/datasets/{pk}/preview/", {}, format="json")
    assert shown.status_code == 200, shown.json()
    p = shown.json()
    assert set(p) == {
        "estimated_total", "eligible_total", "shortfall", "unreviewed_clusters", "cells", "notes"
    }  # fmt: skip
    assert p["estimated_total"] + p["shortfall"] == 300 and p["unreviewed_clusters"] == 0
    assert p["shortfall"] < 30  # a cell of the one-slide group runs short of Stroma
    assert {c["category"] for c in p["cells"]} == {"Tumour", "Stroma"}
    assert {c["group"] for c in p["cells"]} == {"ds first two", "ds all"}
    assert sum(c["estimated"] for c in p["cells"]) == p["estimated_total"]
    assert p["eligible_total"] == sum(c["eligible"] for c in p["cells"]) > 300
    for c in p["cells"]:
        assert c["estimated"] <= c["eligible"]
    by_group = {}
    for c in p["cells"]:
        by_group[c["group"]] = by_group.get(c["group"], 0) + c["estimated"]
    assert by_group["ds first two"] == 200  # weights 2 : 1 of 300
    huge = curator.post(
        f"/api/datasets/{pk}/preview/", {"recipe": recipe_for(ds, budget=10**8)}, format="json"
    ).json()
    assert huge["estimated_total"] == huge["eligible_total"]
    assert huge["shortfall"] == 10**8 - huge["eligible_total"]
    assert any("do not exist" in n for n in huge["notes"])

    # Edit and delete a draft.
    edited = curator.patch(f"/api/datasets/{pk}/", {"name": "renamed"}, format="json")
    assert edited.status_code == 200 and edited.json()["name"] == "renamed"
    assert api_as("viewer").delete(f"/api/datasets/{pk}/").status_code == 403
    assert curator.delete(f"/api/datasets/{pk}/").status_code == 204
    assert AuditEvent.objects.filter(action="dataset.delete", object_id=str(pk)).exists()


@pytest.mark.django_db
def test_build_honours_weights_categories_and_is_reproducible(ds, built, api_as, curator):
    version = built(budget=240, per_slide_cap=100)
    folder = ds.data_root / version.folder
    table = pq.read_table(folder / "manifest.parquet")
    n = version.row_count
    assert n == table.num_rows and n + version.shortfall == 240 and version.shortfall < 30
    assert set(table.column("category").to_pylist()) == {"Tumour", "Stroma"}
    rows = table.to_pylist()
    # Merged cluster 3 follows its target (Tumour); rejected 4 and Immune cells (2) never.
    assert {r["cluster"] for r in rows} <= {0, 1, 3}
    assert all(r["category"] == "Tumour" for r in rows if r["cluster"] in (0, 3))
    cells = {(c["group"], c["category"]): c for c in version.stats["cells"]}
    # Groups 2 : 1 of 240, categories Tumour 2 : Stroma 1 within each group.
    assert cells[("ds first two", "Tumour")]["target"] == 107
    assert cells[("ds first two", "Stroma")]["target"] == 53
    assert cells[("ds all", "Tumour")]["target"] == 53
    for (group, category), cell in cells.items():
        drawn = sum(1 for r in rows if r["group"] == group and r["category"] == category)
        assert drawn == cell["achieved"] <= cell["target"]
    per_slide = {}
    for r in rows:
        per_slide[r["slide_id"]] = per_slide.get(r["slide_id"], 0) + 1
    assert max(per_slide.values()) <= 100  # the cap
    assert sum(r["weight"] for r in rows[:1]) > 0
    # Slides go to the first group that has them.
    assert {r["slide_id"] for r in rows if r["group"] == "ds first two"} <= set(ds.slide_ids[:2])
    assert {r["slide_id"] for r in rows if r["group"] == "ds all"} <= set(ds.slide_ids[2:])
    for name in ("manifest.csv", "manifest.jsonl", "stats.json"):
        assert (folder / name).is_file()

    inputs = version.inputs
    assert [c["index"] for c in inputs["clusters"]] == [0, 1, 2, 3, 4]
    assert (
        inputs["clusters"][3]["merged_into"] == 0 and inputs["clusters"][4]["status"] == "rejected"
    )
    assert [g["slide_count"] for g in inputs["groups"]] == [2, len(ds.slide_ids)]
    assert inputs["category_weights"] == {"Stroma": 1.0, "Tumour": 2.0}

    viewer = api_as("viewer")
    data = viewer.get(f"/api/datasets/{version.pk}/").json()
    assert data["status"] == "built" and data["checksum"] == version.checksum
    assert data["built_by"] == curator.username and data["row_count"] == n
    assert data["manifest"]["csv"] == f"/api/datasets/{version.pk}/manifest.csv"
    stats = viewer.get(f"/api/datasets/{version.pk}/stats/").json()
    assert stats["rows"] == n and stats["train"] + stats["validation"] == n
    assert {"cells", "by_lab", "by_scanner", "by_stain", "tiles_per_slide", "notes"} <= set(stats)
    assert sum(c["achieved"] for c in stats["cells"]) == n
    assert viewer.get(f"/api/datasets/{version.pk}/recipe/").json()["budget"] == 240

    # Immutable: no edit, no delete, no second build.
    curator_client = api_as("pathologist")
    for response in (
        curator_client.patch(f"/api/datasets/{version.pk}/", {"name": "x"}, format="json"),
        curator_client.delete(f"/api/datasets/{version.pk}/"),
        curator_client.post(f"/api/datasets/{version.pk}/build/"),
    ):
        assert response.status_code == 409 and response.json()["code"] == "immutable"

    # Clone + build → the same manifest, byte for byte.
    cloned = curator_client.post(f"/api/datasets/{version.pk}/clone/", {}, format="json")
    assert cloned.status_code == 201 and cloned.json()["parent"] == version.pk
    assert cloned.json()["status"] == "draft"
    again = builds.version_build(
        builds.version_build_start(
            actor=curator, version=DatasetVersion.objects.get(pk=cloned.json()["id"])
        ).pk
    )
    assert again.status == "built" and again.checksum == version.checksum
    assert again.inputs == version.inputs
    same = viewer.get(f"/api/datasets/{version.pk}/diff/?other={again.pk}").json()
    assert same["tiles_added"] == same["tiles_removed"] == 0 and same["tiles_kept"] == n

    # Another seed: a different manifest, compared.
    other = built(name="other seed", seed=7, budget=240, per_slide_cap=100)
    assert other.checksum != version.checksum
    diff = viewer.get(f"/api/datasets/{version.pk}/diff/?other={other.pk}").json()
    assert diff["tiles_kept"] + diff["tiles_removed"] == n
    assert diff["tiles_kept"] + diff["tiles_added"] == other.row_count
    assert {c["category"] for c in diff["cells"]} == {"Tumour", "Stroma"}
    draft = versions.version_clone(actor=curator, version=version)
    assert viewer.get(f"/api/datasets/{version.pk}/diff/?other={draft.pk}").status_code == 409
    assert viewer.get(f"/api/datasets/{version.pk}/diff/?other=abc").status_code == 400
    assert viewer.get(f"/api/datasets/{draft.pk}/stats/").json()["code"] == "not_built"
    assert AuditEvent.objects.filter(action="dataset.build").count() == 3
    assert AuditEvent.objects.filter(action="dataset.clone").count() == 2


@pytest.mark.django_db
def test_unreviewed_clusters_refuse_unless_included(ds, api_as, curator):
    Cluster.objects.filter(run_id=ds.run_id, index=2).update(status="unreviewed", category=None)
    client = api_as("pathologist")
    pk = _create(client, ds).json()["id"]
    refused = client.post(f"/api/datasets/{pk}/build/")
    assert refused.status_code == 409 and refused.json()["code"] == "unreviewed"
    assert "1 cluster" in refused.json()["detail"]
    assert DatasetVersion.objects.get(pk=pk).status == "draft"
    preview = client.post(f"/api/datasets/{pk}/preview/", {}, format="json").json()
    assert preview["unreviewed_clusters"] == 1

    recipe = recipe_for(ds, include_unreviewed=True)
    assert (
        client.patch(f"/api/datasets/{pk}/", {"recipe": recipe}, format="json").status_code == 200
    )
    started = builds.version_build_start(actor=curator, version=DatasetVersion.objects.get(pk=pk))
    version = builds.version_build(started.pk)
    assert version.status == "built", version.error
    categories = set(pq.read_table(ds.data_root / version.folder / "manifest.parquet")
                     .column("category").to_pylist())  # fmt: skip
    assert categories == {"Tumour", "Stroma", "unreviewed"}


@pytest.mark.django_db
def test_budget_larger_than_eligible_and_zero_weights(ds, built, api_as):
    version = built(budget=10**7)
    assert version.shortfall > 0 and version.row_count + version.shortfall == 10**7
    assert "did not exist" in version.message and version.stats["shortfall"] == version.shortfall

    client = api_as("pathologist")
    zero = _create(client, ds, groups=[{"group": ds.group_a, "weight": 0}]).json()["id"]
    refused = client.post(f"/api/datasets/{zero}/build/")
    assert refused.status_code == 400 and refused.json()["code"] == "zero_weights"
    none = _create(client, ds, groups=[]).json()["id"]
    assert client.post(f"/api/datasets/{none}/build/").json()["code"] == "no_groups"
    cats = [{"category": ds.categories["Tumour"], "weight": 0}]
    zero = _create(client, ds, categories=cats).json()["id"]
    assert client.post(f"/api/datasets/{zero}/build/").json()["code"] == "zero_weights"
    immune = [{"category": ds.categories["Fat"], "weight": 1}]  # no cluster accepted as Fat
    fat = _create(client, ds, categories=immune).json()["id"]
    assert client.post(f"/api/datasets/{fat}/build/").json()["code"] == "no_categories"
    assert api_as("viewer").post(f"/api/datasets/{fat}/build/").status_code == 403


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_build_on_a_real_worker(ds, api_as, settings, tmp_path):
    """The build goes to the cpu queue; the test worker consumes every queue."""
    client = api_as("pathologist")
    pk = _create(client, ds).json()["id"]
    with celery_worker(settings.DATA_ROOT, tmp_path / "worker.log"):
        started = client.post(f"/api/datasets/{pk}/build/")
        assert started.status_code == 202 and started.json()["status"] == "building"
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            data = client.get(f"/api/datasets/{pk}/").json()
            if data["status"] != "building":
                break
            time.sleep(0.3)
    log = (tmp_path / "worker.log").read_text()
    assert data["status"] == "built", (data, log[-3000:])
    assert 270 < data["row_count"] <= 300 and len(data["checksum"]) == 64
    assert "datasets.build_version" in log
