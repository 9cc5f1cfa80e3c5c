"""The semantic vocabulary: seeded categories, validation with clear messages, refusal to
delete a category in use, an audit event per change, roles."""

import pytest

from webapp.audit.models import AuditEvent
from webapp.clusters.models import Cluster, SemanticCategory


@pytest.mark.django_db
def test_the_seeded_vocabulary(api_as):
    """Seeded by the data migration (this test is not transactional: it is still there)."""
    listed = api_as("viewer").get("/api/semantic-categories/").json()
    assert [c["name"] for c in listed] == [
        "Tumour", "Stroma", "Immune cells", "Necrosis", "Mucus", "Fat", "Blood",
        "Normal epithelium", "Muscle",
    ]  # fmt: skip
    assert [c["shortcut"] for c in listed] == [str(i) for i in range(1, 10)]
    weights = {c["name"]: c["default_weight"] for c in listed}
    assert weights["Fat"] == weights["Blood"] == 0.5 and weights["Tumour"] == 1.0
    assert set(listed[0]) == {
        "id", "name", "colour", "default_weight", "shortcut", "description", "position",
        "cluster_count",
    }  # fmt: skip
    assert listed[0]["colour"] == "#d62728" and listed[0]["cluster_count"] == 0


@pytest.mark.django_db
def test_edits_are_validated_and_audited(api_as, categories):
    client = api_as("pathologist")
    base = {"name": "Cartilage", "colour": "#AABBCC", "default_weight": 0.8, "shortcut": "0"}
    for change, message in [
        ({"name": "tUMOUR"}, "named 'Tumour' exists"),
        ({"name": "  "}, "name"),
        ({"colour": "red"}, "hex colour"),
        ({"colour": "#12345g"}, "hex colour"),
        ({"default_weight": -0.1}, "≥ 0"),
        ({"shortcut": "x"}, "0-9"),
        ({"shortcut": "12"}, "shortcut"),
        ({"shortcut": "1"}, "belongs to 'Tumour'"),
    ]:
        bad = client.post("/api/semantic-categories/", {**base, **change}, format="json")
        assert bad.status_code == 400 and message in bad.json()["detail"], (change, bad.json())
    created = client.post("/api/semantic-categories/", base, format="json")
    assert created.status_code == 201, created.json()
    data = created.json()
    assert data["colour"] == "#aabbcc" and data["position"] == 10 and data["cluster_count"] == 0

    renamed = client.patch(
        f"/api/semantic-categories/{data['id']}/", {"name": "Bone", "shortcut": ""}, format="json"
    )
    assert renamed.status_code == 200 and renamed.json()["name"] == "Bone"
    assert renamed.json()["shortcut"] == "" and renamed.json()["colour"] == "#aabbcc"
    clash = client.patch(f"/api/semantic-categories/{data['id']}/", {"name": "fat"}, format="json")
    assert clash.status_code == 400 and clash.json()["code"] == "duplicate"
    assert client.delete(f"/api/semantic-categories/{data['id']}/").status_code == 204
    actions = list(
        AuditEvent.objects.filter(object_type="semantic_category")
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == [
        "semantic_category.create",
        "semantic_category.update",
        "semantic_category.delete",
    ]
    update = AuditEvent.objects.get(action="semantic_category.update")
    assert update.before["name"] == "Cartilage" and update.after["name"] == "Bone"


@pytest.mark.django_db
def test_a_category_in_use_is_not_deleted(api_as, categories, review_run):
    stroma = categories["Stroma"]
    Cluster.objects.filter(run=review_run, index__lt=2).update(status="accepted", category=stroma)
    listed = {c["name"]: c for c in api_as("viewer").get("/api/semantic-categories/").json()}
    assert listed["Stroma"]["cluster_count"] == 2
    refused = api_as("admin").delete(f"/api/semantic-categories/{stroma.pk}/")
    assert refused.status_code == 409 and refused.json()["code"] == "in_use"
    assert "2 cluster(s)" in refused.json()["detail"]
    assert SemanticCategory.objects.filter(pk=stroma.pk).exists()
    assert not AuditEvent.objects.filter(action="semantic_category.delete").exists()


@pytest.mark.django_db
def test_roles(api_as, categories):
    body = {"name": "Nerve", "colour": "#000000", "default_weight": 1}
    assert api_as(None).get("/api/semantic-categories/").status_code in (401, 403)
    assert api_as("viewer").post("/api/semantic-categories/", body).status_code == 403
    tumour = categories["Tumour"].pk
    assert api_as("viewer").delete(f"/api/semantic-categories/{tumour}/").status_code == 403
    assert api_as("admin").post("/api/semantic-categories/", body).status_code == 201
