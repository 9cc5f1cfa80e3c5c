"""Reading results: the cluster list and its filters, detail with exemplar tile refs and the
composition by slide, group, lab, scanner and stain, montages, the map, per-slide labels
aligned with the tile grid, and similar tiles."""

from io import BytesIO

import pytest
from django.core.cache import cache
from PIL import Image

from webapp.clusters.models import Cluster
from webapp.clusters.services.execution import run_execute
from webapp.slides.models import Slide, SlideRoot
from webapp.tagging import starter_vocabulary
from webapp.tagging.models import Category, SlideGroup, Term
from webapp.tagging.services import groups, tags
from webapp.tiling.models import SlideTiling

CLUSTER_FIELDS = {
    "id", "run", "index", "size", "share", "slide_count", "status", "category",
    "category_name", "category_colour", "reject_reason", "weight", "note", "merged_into",
    "version", "reviewed_by", "reviewed_at", "map_x", "map_y", "quality", "montage_url",
}  # fmt: skip
TILE_REF_FIELDS = {
    "slide", "slide_name", "tiling", "index", "x", "y", "size", "distance", "url"
}  # fmt: skip


def jpeg(response) -> Image.Image:
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    return Image.open(BytesIO(response.content))


@pytest.fixture
def tagged_run(launch, admin):
    """A finished run over slides tagged with a lab, a scanner and a stain, two of them in
    an explicit group: the composition has something to count."""
    starter_vocabulary.load(Category, Term)
    slides = list(Slide.objects.order_by("pk"))
    lab_a = Term.objects.create(category=Category.objects.get(key="lab"), name="Lab A")
    he = Term.objects.get(category__key="stain", name="H&E")
    tags.tags_change(actor=admin, slide_ids=[s.pk for s in slides], add=[he])
    tags.tags_change(actor=admin, slide_ids=[slides[0].pk, slides[1].pk], add=[lab_a])
    group = groups.group_create(actor=admin, name="Pair", kind="explicit")
    groups.group_members_change(actor=admin, group=group, add=[slides[0].pk, slides[1].pk])
    run = run_execute(launch().pk)
    assert run.status == "succeeded", run.error
    return run


@pytest.mark.django_db
def test_clusters_exemplars_composition_and_montage(tagged_run, api_as, categories):
    viewer = api_as("viewer")
    run = tagged_run
    missing = viewer.get("/api/clusters/")
    assert missing.status_code == 400 and "run" in missing.json()["detail"]
    page = viewer.get(f"/api/clusters/?run={run.pk}&page_size=200").json()
    assert page["count"] == 5 and [c["index"] for c in page["results"]] == list(range(5))
    assert set(page["results"][0]) >= CLUSTER_FIELDS
    first = Cluster.objects.get(run=run, index=0)
    api_as("pathologist").post(
        f"/api/clusters/{first.pk}/review/",
        {"version": 1, "status": "accepted", "category": categories["Muscle"].pk},
    )
    for query, expected in [
        ("status=accepted", [0]),
        ("unreviewed=true", [1, 2, 3, 4]),
        (f"category={categories['Muscle'].pk}", [0]),
        ("ordering=-index", [4, 3, 2, 1, 0]),
    ]:
        found = viewer.get(f"/api/clusters/?run={run.pk}&{query}").json()["results"]
        assert [c["index"] for c in found] == expected, query

    biggest = Cluster.objects.filter(run=run).order_by("-size").first()
    detail = viewer.get(f"/api/clusters/{biggest.pk}/").json()
    assert set(detail) >= CLUSTER_FIELDS | {"exemplars", "composition"}
    representative = detail["exemplars"]["representative"]
    assert set(detail["exemplars"]) == {"representative", "boundary", "random"}
    assert 1 <= len(representative) <= 12 and set(representative[0]) == TILE_REF_FIELDS
    distances = [t["distance"] for t in representative]
    assert distances == sorted(distances)
    ref = representative[0]
    tiling = SlideTiling.objects.get(slide_id=ref["slide"], config=run.config)
    assert ref["tiling"] == tiling.pk and ref["slide_name"] == tiling.slide.name
    assert ref["url"] == f"/api/slide-tilings/{tiling.pk}/tiles/{ref['index']}.jpg"
    assert jpeg(viewer.get(ref["url"])).size == (64, 64)

    composition = detail["composition"]
    assert set(composition) == {"slide", "group", "lab", "scanner", "stain"}
    assert sum(e["count"] for e in composition["slide"]) == biggest.size
    assert composition["stain"] == [
        {"key": str(Term.objects.get(name="H&E").pk), "label": "H&E", "count": biggest.size,
         "share": 1.0}
    ]  # fmt: skip
    pair = SlideGroup.objects.get(name="Pair")
    in_pair = sum(
        e["count"]
        for e in composition["slide"]
        if int(e["key"]) in set(pair.members.values_list("pk", flat=True))
    )
    assert [e["count"] for e in composition["group"] if e["key"] == str(pair.pk)] == (
        [in_pair] if in_pair else []
    )
    assert all(e["label"] == "Lab A" for e in composition["lab"])

    # The montage: a grid of 96 px cells, cached; an unreadable slide gives grey cells.
    montage = viewer.get(detail["montage_url"])
    image = jpeg(montage)
    assert image.size[0] == min(4, len(representative)) * 96 + (min(4, len(representative)) - 1) * 2
    assert cache.get(f"clusters:montage:{run.pk}:{biggest.pk}:representative") == montage.content
    assert viewer.get(f"/api/clusters/{biggest.pk}/montage.jpg?kind=odd").status_code == 400
    SlideRoot.objects.update(path="/nonexistent")
    grey = jpeg(viewer.get(f"/api/clusters/{biggest.pk}/montage.jpg?kind=random"))
    assert grey.convert("L").getpixel((48, 48)) == pytest.approx(200, abs=3)


@pytest.mark.django_db
def test_map_labels_and_similar_tiles(finished_run, api_as, categories, settings):
    viewer, run = api_as("viewer"), finished_run
    clusters = {c.index: c for c in Cluster.objects.filter(run=run)}
    pathologist = api_as("pathologist")
    pathologist.post(
        f"/api/clusters/{clusters[0].pk}/review/",
        {"version": 1, "status": "accepted", "category": categories["Tumour"].pk},
    )
    pathologist.post(
        f"/api/cluster-runs/{run.pk}/merge/",
        {"target": clusters[0].pk, "clusters": [clusters[1].pk]},
        format="json",
    )

    the_map = viewer.get(f"/api/cluster-runs/{run.pk}/map/").json()
    assert the_map["method"] == "pca" and len(the_map["centroids"]) == 5
    centroid = the_map["centroids"][1]
    assert centroid["cluster"] == clusters[1].pk and centroid["index"] == 1
    assert centroid["status"] == "merged" and centroid["category_colour"] == "#d62728"
    assert centroid["size"] == clusters[1].size and {"x", "y"} <= set(centroid)
    assert 0 < len(the_map["tiles"]) <= 5000
    assert {t["cluster_index"] for t in the_map["tiles"]} <= set(range(5))

    # Labels: one per tile, in the order of the tiling's grid; on a slide with cluster 1.
    slide_id = int(clusters[1].composition["slide"][0]["key"])
    tiling = SlideTiling.objects.get(config=run.config, slide_id=slide_id)
    labels = viewer.get(f"/api/cluster-runs/{run.pk}/slides/{tiling.slide_id}/labels/").json()
    grid = viewer.get(f"/api/slide-tilings/{tiling.pk}/grid/").json()
    assert labels["x"] == grid["x"] and labels["y"] == grid["y"] and labels["size"] == grid["size"]
    assert len(labels["cluster_index"]) == tiling.tile_count
    assert set(labels["clusters"]) == {str(i) for i in set(labels["cluster_index"])}
    merged = labels["clusters"]["1"]  # follows its target's decision
    assert merged["status"] == "accepted" and merged["colour"] == "#d62728"
    assert merged["id"] == clusters[1].pk and merged["category"] == categories["Tumour"].pk
    other = Slide.objects.create(root=tiling.slide.root, relative_path="x.svs", name="x.svs")
    absent = viewer.get(f"/api/cluster-runs/{run.pk}/slides/{other.pk}/labels/")
    assert absent.status_code == 404 and "not part of" in absent.json()["detail"]

    # Similar tiles: the nearest first, each with its cluster and a tile URL.
    base = f"/api/cluster-runs/{run.pk}/similar/?slide={tiling.slide_id}"
    found = viewer.get(f"{base}&index=3&k=6").json()["results"]
    assert 1 <= len(found) <= 6 and set(found[0]) == TILE_REF_FIELDS | {"cluster_index"}
    assert (found[0]["slide"], found[0]["index"]) != (tiling.slide_id, 3)
    assert [t["distance"] for t in found] == sorted(t["distance"] for t in found)
    assert found[0]["cluster_index"] in range(5) and found[0]["url"].endswith(".jpg")
    for query, status in [
        (f"slide={other.pk}&index=0", 400),
        (f"slide={tiling.slide_id}&index={tiling.tile_count}", 400),
        (f"slide={tiling.slide_id}&index=0&k=0", 400),
        (f"slide={tiling.slide_id}", 400),
    ]:
        response = viewer.get(f"/api/cluster-runs/{run.pk}/similar/?{query}")
        assert response.status_code == status, (query, response.json())
    (settings.DATA_ROOT / run.folder / "similar.faiss").unlink()
    no_index = viewer.get(f"{base}&index=0")
    assert no_index.status_code == 404 and "index" in no_index.json()["detail"]
