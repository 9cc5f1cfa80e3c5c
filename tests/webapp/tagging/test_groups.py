"""Slide groups over the API: rules, explicit members, counts, overlaps, snapshots, audit."""

import pytest

from webapp.audit.models import AuditEvent
from webapp.tagging.services.tags import tags_change

pytestmark = pytest.mark.django_db


@pytest.fixture
def tagged(slides, term):
    he, colon, lung = term("stain", "H&E"), term("tissue", "Colon"), term("tissue", "Lung")
    tags_change(actor=None, slide_ids=[s.pk for s in slides[:4]], add=[he])
    tags_change(actor=None, slide_ids=[slides[0].pk, slides[1].pk, slides[3].pk], add=[colon])
    tags_change(actor=None, slide_ids=[slides[2].pk], add=[lung])
    return slides


def test_rule_group_counts_and_summary(api_as, tagged):
    client = api_as("pathologist")
    colon = client.post(
        "/api/groups/",
        {"name": "H&E colon", "weight": 2, "rule": 'stain = "H&E" AND tissue = colon'},
        format="json",
    )
    assert colon.status_code == 201, colon.json()
    assert colon.json()["slide_count"] == 3
    he = client.post("/api/groups/", {"name": "All H&E", "rule": "stain = H&E"}, format="json")
    listed = {g["name"]: g for g in client.get("/api/groups/").json()["results"]}
    assert listed["H&E colon"]["slide_count"] == 3 and listed["H&E colon"]["weight"] == 2
    assert listed["All H&E"]["slide_count"] == 4
    summary = client.get("/api/groups/summary/").json()
    assert summary["slides"] == 6
    assert summary["in_no_group"] == 2  # the two untagged slides
    assert summary["in_multiple_groups"] == 3  # colon H&E slides are in both groups
    in_group = client.get("/api/slides/", {"group": colon.json()["id"]}).json()
    assert in_group["count"] == 3
    assert client.get("/api/slides/", {"groups": "none"}).json()["count"] == 2
    assert client.get("/api/slides/", {"groups": "multiple"}).json()["count"] == 3
    assert client.get(f"/api/groups/{he.json()['id']}/").json()["slide_count"] == 4


def test_rule_preview_and_parse_errors(api_as, tagged):
    client = api_as("pathologist")
    assert client.post(
        "/api/groups/preview/", {"rule": "tissue IN (colon, lung)"}, format="json"
    ).json() == {"slide_count": 4}
    bad = client.post("/api/groups/preview/", {"rule": "tissue = (colon"}, format="json")
    assert bad.status_code == 400 and "Expected a term at 10" in bad.json()["detail"]
    unknown = client.post("/api/groups/", {"name": "x", "rule": "organ = colon"}, format="json")
    assert unknown.status_code == 400 and "Unknown category 'organ'" in unknown.json()["detail"]
    weightless = client.post(
        "/api/groups/", {"name": "y", "rule": "stain = H&E", "weight": 0}, format="json"
    )
    assert weightless.status_code == 400


def test_explicit_group_members_and_freeze(api_as, tagged):
    client = api_as("pathologist")
    group = client.post(
        "/api/groups/", {"name": "Hand-picked", "kind": "explicit"}, format="json"
    ).json()
    ids = [s.pk for s in tagged[:3]]
    result = client.post(f"/api/groups/{group['id']}/members/", {"add": ids}, format="json")
    assert result.json() == {"added": 3, "removed": 0}
    client.post(f"/api/groups/{group['id']}/members/", {"remove": [ids[0]]}, format="json")
    assert client.get(f"/api/groups/{group['id']}/").json()["slide_count"] == 2
    frozen = client.post(f"/api/groups/{group['id']}/freeze/")
    assert frozen.status_code == 201 and frozen.json()["slide_count"] == 2
    client.post(f"/api/groups/{group['id']}/members/", {"add": [ids[0]]}, format="json")
    snapshots = client.get(f"/api/groups/{group['id']}/snapshots/").json()["results"]
    assert snapshots[0]["slide_count"] == 2  # frozen: later changes do not touch it
    gone = client.delete(f"/api/groups/{group['id']}/")
    assert gone.status_code == 409  # datasets may rely on its snapshot
    rule_group = client.post(
        "/api/groups/", {"name": "r", "rule": "stain = H&E"}, format="json"
    ).json()
    not_explicit = client.post(
        f"/api/groups/{rule_group['id']}/members/", {"add": ids}, format="json"
    )
    assert not_explicit.status_code == 400


def test_group_edits_are_audited_and_viewers_only_read(api_as, tagged):
    client = api_as("pathologist")
    group = client.post("/api/groups/", {"name": "g", "rule": "stain = H&E"}, format="json").json()
    client.patch(
        f"/api/groups/{group['id']}/", {"weight": 3.5, "rule": "tissue = lung"}, format="json"
    )
    update = AuditEvent.objects.get(action="group.update")
    assert update.before["rule"] == "stain = H&E" and update.after["rule"] == "tissue = lung"
    assert update.before["weight"] == 1.0 and update.after["weight"] == 3.5
    assert client.delete(f"/api/groups/{group['id']}/").status_code == 204
    assert AuditEvent.objects.filter(action="group.delete").count() == 1
    viewer = api_as("viewer")
    assert viewer.get("/api/groups/").status_code == 200
    assert (
        viewer.post("/api/groups/", {"name": "v", "rule": "stain = H&E"}, format="json").status_code
        == 403
    )
