"""Manifest downloads in three formats and export shards: Content-Length, ETag and 304,
single byte ranges (206 with the exact bytes, 416), If-Range, and read tokens."""

import pytest

from webapp.accounts.services import api_token_create
from webapp.datasets.services import exports

pytestmark = pytest.mark.django_db


def _body(response) -> bytes:
    return b"".join(response.streaming_content)


@pytest.mark.parametrize("fmt", ["parquet", "csv", "jsonl"])
def test_manifest_downloads(ds, built, api_as, fmt):
    version = built(budget=40)
    path = ds.data_root / version.folder / f"manifest.{fmt}"
    whole = path.read_bytes()
    client = api_as("viewer")
    url = f"/api/datasets/{version.pk}/manifest.{fmt}"

    full = client.get(url, HTTP_ACCEPT="text/html")
    assert full.status_code == 200
    assert int(full["Content-Length"]) == len(whole) and _body(full) == whole
    assert full["Accept-Ranges"] == "bytes"
    assert full["ETag"] == f'"{version.checksum}-{fmt}"'
    assert f"dataset-{version.pk}-v.{fmt}" in full["Content-Disposition"]

    assert client.get(url, HTTP_IF_NONE_MATCH=full["ETag"]).status_code == 304
    assert client.get(url, HTTP_IF_NONE_MATCH='"other", ' + full["ETag"]).status_code == 304
    assert client.get(url, HTTP_IF_NONE_MATCH='"other"').status_code == 200

    size = len(whole)
    for header, first, last in [
        ("bytes=10-19", 10, 19),
        ("bytes=5-", 5, size - 1),
        ("bytes=-7", size - 7, size - 1),
        (f"bytes=3-{size + 100}", 3, size - 1),
    ]:
        part = client.get(url, HTTP_RANGE=header)
        assert part.status_code == 206, header
        assert part["Content-Range"] == f"bytes {first}-{last}/{size}"
        assert int(part["Content-Length"]) == last - first + 1
        assert _body(part) == whole[first : last + 1]
    for header in (f"bytes={size}-", "bytes=-0"):
        refused = client.get(url, HTTP_RANGE=header)
        assert refused.status_code == 416 and refused["Content-Range"] == f"bytes */{size}"
    assert client.get(url, HTTP_RANGE="bytes=0-1,5-6").status_code == 200  # several: whole
    assert client.get(url, HTTP_RANGE="lines=1-2").status_code == 200
    # If-Range: the range only while the file is still the one the client had.
    assert client.get(url, HTTP_RANGE="bytes=0-9", HTTP_IF_RANGE=full["ETag"]).status_code == 206
    assert client.get(url, HTTP_RANGE="bytes=0-9", HTTP_IF_RANGE='"old"').status_code == 200


def test_not_built_and_unknown(ds, curator, api_as):
    from tests.webapp.datasets.world import recipe_for
    from webapp.clusters.models import ClusterRun
    from webapp.datasets.services import versions

    draft = versions.version_create(
        actor=curator, name="d", cluster_run=ClusterRun.objects.get(pk=ds.run_id),
        recipe=recipe_for(ds),
    )  # fmt: skip
    client = api_as("viewer")
    assert client.get(f"/api/datasets/{draft.pk}/manifest.csv").status_code == 409
    assert client.get("/api/datasets/999999/manifest.csv").status_code == 404
    assert client.get(f"/api/datasets/{draft.pk}/manifest.exe").status_code == 404
    assert api_as(None).get(f"/api/datasets/{draft.pk}/manifest.csv").status_code == 401


def test_read_token_downloads_and_lists_but_never_writes(ds, built, make_user, api_as):
    from rest_framework.test import APIClient

    from webapp.clusters.models import Cluster

    version = built(budget=30)
    owner = make_user("admin", username="token-owner")
    job = exports.export_start(actor=owner, version=version, shard_size=100)
    exports.export_run(job.pk)
    token, key = api_token_create(user=owner, name="script", scope="read")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/api/datasets/").json()["count"] >= 1
    manifest = client.get(f"/api/datasets/{version.pk}/manifest.parquet")
    assert manifest.status_code == 200 and int(manifest["Content-Length"]) > 0
    shard = client.get(f"/api/exports/{job.pk}/shards/shard-000000.tar", HTTP_RANGE="bytes=0-511")
    assert shard.status_code == 206 and len(_body(shard)) == 512
    assert client.get(f"/api/exports/{job.pk}/shards/shard-000009.tar").status_code == 404

    cluster = Cluster.objects.filter(run_id=ds.run_id).first()
    for path, body in [
        (f"/api/datasets/{version.pk}/clone/", {}),
        (f"/api/datasets/{version.pk}/exports/", {}),
        (f"/api/clusters/{cluster.pk}/review/", {"version": 1, "status": "unreviewed"}),
        ("/api/tokens/", {"name": "more", "scope": "full"}),
    ]:
        refused = client.post(path, body, format="json")
        assert refused.status_code == 403, path
        assert refused.json()["detail"] == "This token is read-only."
    bearer = APIClient()
    bearer.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert bearer.get(f"/api/datasets/{version.pk}/").status_code == 200
    assert bearer.delete(f"/api/tokens/{token.pk}/").status_code == 403


def test_range_reader_is_ready_for_sendfile(tmp_path):
    """gunicorn sends a file response with sendfile(2) from its descriptor's current position
    for Content-Length bytes: the range reader's descriptor sits at the range's start, and
    `read` (servers without sendfile) stops at the range's end."""
    import os

    from webapp.datasets.services.files import RangeReader

    path = tmp_path / "manifest.csv"
    path.write_bytes(bytes(range(256)) * 4)
    reader = RangeReader(path, 10, 10)
    try:
        assert os.lseek(reader.fileno(), 0, os.SEEK_CUR) == 10
        assert reader.read(4) + reader.read() == bytes(range(10, 20))
        assert reader.read() == b""
    finally:
        reader.close()
