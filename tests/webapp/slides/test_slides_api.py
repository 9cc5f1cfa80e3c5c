"""The slide list, detail, facets and images over the API, as each role."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from webapp.slides.models import Slide, SlideRoot, SlideStatus

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("role", ["admin", "pathologist", "viewer"])
def test_every_role_reads_slides(api_as, registered_root, role):
    client = api_as(role)
    response = client.get("/api/slides/")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == Slide.objects.count() > 0
    first = body["results"][0]
    assert {"id", "name", "relative_path", "status", "mpp_x", "thumbnail_url"} <= set(first)
    assert "properties" not in first  # the heavy map stays out of lists


def test_anonymous_gets_401_with_a_message(api_as, registered_root):
    response = api_as(None).get("/api/slides/")
    assert response.status_code == 401
    assert response.json()["detail"]


def test_pagination_and_page_size_cap(api_as, registered_root):
    root = registered_root
    Slide.objects.bulk_create(
        Slide(
            root=root,
            relative_path=f"bulk/{i:03}.svs",
            name=f"{i:03}.svs",
            status=SlideStatus.FAILED,
            failure_reason="test row",
        )
        for i in range(250)
    )
    client = api_as("viewer")
    page = client.get("/api/slides/", {"page_size": 20, "page": 2}).json()
    assert len(page["results"]) == 20 and page["next"] and page["previous"]
    capped = client.get("/api/slides/", {"page_size": 5000}).json()
    assert len(capped["results"]) == 200
    assert client.get("/api/slides/", {"page": 999}).status_code == 404


def test_filters(api_as, registered_root):
    client = api_as("viewer")
    all_slides = list(Slide.objects.all())

    def ids(params):
        body = client.get("/api/slides/", params).json()
        return {s["id"] for s in body["results"]}

    vendor = all_slides[0].vendor
    assert ids({"vendor": vendor}) == {s.pk for s in all_slides if s.vendor == vendor}
    assert ids({"status": "registered"}) == {s.pk for s in all_slides}
    assert ids({"status": "failed"}) == set()
    fine = {s.pk for s in all_slides if s.mpp_x <= 0.3}
    assert fine and ids({"mpp_max": 0.3}) == fine
    assert ids({"mpp_min": 0.3}) == {s.pk for s in all_slides} - fine
    target = all_slides[-1]
    assert ids({"search": target.name[3:-3].upper()}) >= {target.pk}
    assert ids({"search": "lab_a/"}) == {s.pk for s in all_slides if "lab_a/" in s.relative_path}
    assert ids({"root": registered_root.pk}) == {s.pk for s in all_slides}


def test_filter_bad_values_get_400(api_as, registered_root):
    client = api_as("viewer")
    for params in ({"mpp_min": "abc"}, {"status": "exploded"}, {"root": "x"}):
        response = client.get("/api/slides/", params)
        assert response.status_code == 400, params
        assert response.json()["detail"]


def test_ordering(api_as, registered_root):
    client = api_as("viewer")
    names = [s["name"] for s in client.get("/api/slides/", {"ordering": "-name"}).json()["results"]]
    assert names == sorted(names, reverse=True)


def test_list_query_count_does_not_grow_with_page_size(api_as, registered_root):
    Slide.objects.bulk_create(
        Slide(
            root=registered_root,
            relative_path=f"q/{i}.svs",
            name=f"{i}.svs",
            status=SlideStatus.REGISTERED,
            fingerprint=f"{i:064}",
        )
        for i in range(120)
    )
    client = api_as("viewer")
    client.get("/api/slides/", {"page_size": 1})  # warm: the user's hidden roots are cached
    counts = []
    for size in (5, 100):
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/api/slides/", {"page_size": size}).status_code == 200
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]


def test_detail_has_full_metadata(api_as, registered_root, real_svs):
    slide = Slide.objects.get(relative_path="CMU-1-Small-Region.svs")
    body = api_as("viewer").get(f"/api/slides/{slide.pk}/").json()
    assert body["properties"]["aperio.AppMag"] == "20"
    assert body["level_dimensions"] == [[2220, 2967]]
    assert {a["name"] for a in body["associated_images"]} == {"label", "macro", "thumbnail"}
    assert body["dzi_url"] == f"/api/slides/{slide.pk}/dzi.json"


def test_facets(api_as, registered_root):
    body = api_as("viewer").get("/api/slides/facets/").json()
    assert sum(f["count"] for f in body["status"]) == Slide.objects.count()
    assert {f["value"] for f in body["vendor"]} == set(
        Slide.objects.values_list("vendor", flat=True)
    )


def test_thumbnail_and_associated_images(api_as, registered_root, real_svs):
    from io import BytesIO

    from PIL import Image

    client = api_as("viewer")
    slide = Slide.objects.get(relative_path="CMU-1-Small-Region.svs")
    response = client.get(f"/api/slides/{slide.pk}/thumbnail/")
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    image = Image.open(BytesIO(b"".join(response.streaming_content)))
    assert max(image.size) == 512
    etag = response["ETag"]
    assert (
        client.get(f"/api/slides/{slide.pk}/thumbnail/", HTTP_IF_NONE_MATCH=etag).status_code == 304
    )
    label = client.get(f"/api/slides/{slide.pk}/associated/label/")
    assert label.status_code == 200
    missing = client.get(f"/api/slides/{slide.pk}/associated/nothing/")
    assert missing.status_code == 404 and "no associated image" in missing.json()["detail"]


def test_failed_slide_has_no_images(api_as, registered_root):
    bad = Slide.objects.create(
        root=registered_root,
        relative_path="bad.svs",
        name="bad.svs",
        status=SlideStatus.FAILED,
        failure_reason="The file is empty.",
    )
    client = api_as("viewer")
    for url in (
        f"/api/slides/{bad.pk}/thumbnail/",
        f"/api/slides/{bad.pk}/dzi.json",
        f"/api/slides/{bad.pk}/dzi_files/0/0_0.jpeg",
    ):
        response = client.get(url)
        assert response.status_code == 404, url
        assert "failed" in response.json()["detail"]
    assert client.get("/api/slides/999999/").status_code == 404


def test_roots_read_for_all_write_for_admin(api_as, registered_root, tmp_path):
    (tmp_path / "new").mkdir()
    payload = {"name": "new", "path": str(tmp_path / "new")}
    for role in ("viewer", "pathologist"):
        client = api_as(role)
        roots = client.get("/api/slide-roots/").json()["results"]
        assert roots[0]["slide_count"] == Slide.objects.count()
        assert client.post("/api/slide-roots/", payload, format="json").status_code == 403
        assert client.post(f"/api/slide-roots/{registered_root.pk}/scan/").status_code == 403
    admin = api_as("admin")
    created = admin.post("/api/slide-roots/", payload, format="json")
    assert created.status_code == 201 and created.json()["slide_count"] == 0
    bad = admin.post("/api/slide-roots/", {"name": "x", "path": "relative"}, format="json")
    assert bad.status_code == 400 and "absolute" in bad.json()["detail"]
    missing = admin.post("/api/slide-roots/", {"name": "y"}, format="json")
    assert missing.status_code == 400 and missing.json()["fields"]["path"]
    assert SlideRoot.objects.count() == 2
