"""Deep zoom for OpenSeadragon: descriptor, tiles (decoded and checked), caching headers."""

from io import BytesIO
from xml.etree import ElementTree

import numpy as np
import pytest
from django.core.cache import cache
from PIL import Image

from webapp.slides.models import Slide

pytestmark = pytest.mark.django_db


def _level_for(width, height, target_max):
    """The deep-zoom level whose image's longest side is about target_max."""
    import math

    top = math.ceil(math.log2(max(width, height)))
    return top - math.ceil(math.log2(max(width, height) / target_max))


@pytest.fixture
def demo_slide(registered_root):
    return Slide.objects.filter(relative_path__startswith="lab_a/").order_by("-width").first()


def test_descriptor_json_and_xml(api_as, demo_slide):
    client = api_as("viewer")
    body = client.get(f"/api/slides/{demo_slide.pk}/dzi.json").json()
    image = body["Image"]
    assert image["Url"] == f"/api/slides/{demo_slide.pk}/dzi_files/"
    assert (int(image["Size"]["Width"]), int(image["Size"]["Height"])) == (
        demo_slide.width,
        demo_slide.height,
    )
    assert image["Format"] == "jpeg" and int(image["TileSize"]) == 254
    assert body["mpp"]["x"] == pytest.approx(demo_slide.mpp_x)

    xml = client.get(f"/api/slides/{demo_slide.pk}/dzi.dzi")
    assert xml["Content-Type"] == "application/xml"
    size = ElementTree.fromstring(xml.content).find("{*}Size")
    assert int(size.get("Width")) == demo_slide.width


def test_tiles_decode_with_tissue(api_as, demo_slide):
    client = api_as("pathologist")
    w, h = demo_slide.width, demo_slide.height
    top = _level_for(w, h, max(w, h))
    # Level 0 is 1×1 px; the top level is full resolution: tiles at the centre hold tissue.
    center = client.get(
        f"/api/slides/{demo_slide.pk}/dzi_files/{top}/{w // 2 // 254}_{h // 2 // 254}.jpeg"
    )
    assert center.status_code == 200 and center["Content-Type"] == "image/jpeg"
    tile = np.asarray(Image.open(BytesIO(center.content)).convert("RGB"))
    assert tile.shape[0] in (255, 256) and tile.shape[1] in (255, 256)
    overview = client.get(f"/api/slides/{demo_slide.pk}/dzi_files/{top - 4}/0_0.jpeg")
    pixels = np.asarray(Image.open(BytesIO(overview.content)).convert("RGB")).astype(float)
    assert pixels.std() > 10, "the overview tile is blank"
    assert pixels.mean() < 245, "the overview tile shows no tissue"


def test_real_svs_tile(api_as, registered_root, real_svs):
    slide = Slide.objects.get(relative_path="CMU-1-Small-Region.svs")
    client = api_as("viewer")
    top = _level_for(2220, 2967, 2967)
    response = client.get(f"/api/slides/{slide.pk}/dzi_files/{top}/4_5.jpeg")
    tile = np.asarray(Image.open(BytesIO(response.content)).convert("RGB")).astype(float)
    assert tile.shape == (256, 256, 3)
    assert tile.std() > 10 and tile.mean() < 235  # H&E tissue, not glass


def test_tile_cache_headers_etag_and_redis(api_as, demo_slide):
    client = api_as("viewer")
    url = f"/api/slides/{demo_slide.pk}/dzi_files/8/0_0.jpeg"
    first = client.get(url)
    assert first.status_code == 200
    assert "max-age" in first["Cache-Control"] and first["ETag"]
    again = client.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304 and not again.content
    from webapp.slides import deepzoom

    key = f"dz:{deepzoom.tile_etag(deepzoom.TileSource.of(demo_slide), 8, 0, 0)}"
    assert cache.get(key) == first.content  # served from Redis next time


def test_out_of_range_tiles_are_404(api_as, demo_slide):
    client = api_as("viewer")
    for path in ("99/0_0.jpeg", "8/999_0.jpeg", "0/0_5.jpeg"):
        response = client.get(f"/api/slides/{demo_slide.pk}/dzi_files/{path}")
        assert response.status_code == 404, path
        assert response.json()["detail"].startswith("No ")


def test_vanished_file_gives_404_not_500(api_as, demo_slide):
    demo_slide.absolute_path.unlink()
    response = api_as("viewer").get(f"/api/slides/{demo_slide.pk}/dzi_files/9/0_0.jpeg")
    assert response.status_code == 404
    assert "cannot be opened" in response.json()["detail"]


def test_tiles_need_login(api_as, demo_slide):
    assert api_as(None).get(f"/api/slides/{demo_slide.pk}/dzi_files/8/0_0.jpeg").status_code == 401


def test_tile_source_is_cached_briefly(api_as, demo_slide, django_assert_num_queries):
    from webapp.slides import deepzoom

    client = api_as("viewer")
    url = f"/api/slides/{demo_slide.pk}/dzi_files/8/0_0.jpeg"
    assert client.get(url).status_code == 200
    # Warm: the session's user is the only query; the slide comes from the process cache.
    with django_assert_num_queries(1):
        assert client.get(url).status_code == 200
    assert deepzoom.tile_source(demo_slide.pk).fingerprint == demo_slide.fingerprint
