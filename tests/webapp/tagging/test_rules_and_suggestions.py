"""Tag rules on paths (preview, apply) and the suggestions a pathologist confirms."""

import pytest

from webapp.audit.models import AuditEvent
from webapp.tagging.models import SlideTag, Term

pytestmark = pytest.mark.django_db


@pytest.fixture
def lab_b(db):
    return Term.objects.create(
        category_id=Term.objects.get(name="FFPE").category.__class__.objects.get(key="lab").pk,
        name="Lab B",
    )


def test_rule_preview_apply_and_audit(api_as, slides, lab_b):
    admin = api_as("admin")
    bad = admin.post(
        "/api/tag-rules/", {"name": "broken", "pattern": "lab_(b", "term": lab_b.pk}, format="json"
    )
    assert bad.status_code == 400 and "regular expression" in bad.json()["detail"]
    rule = admin.post(
        "/api/tag-rules/",
        {"name": "Lab B folder", "field": "path", "pattern": "^lab_b/", "term": lab_b.pk},
        format="json",
    ).json()
    preview = admin.get(f"/api/tag-rules/{rule['id']}/preview/").json()
    assert preview["count"] == 3
    assert all(
        row["relative_path"].startswith("lab_b/") and row["has_term"] is False
        for row in preview["results"]
    )
    applied = admin.post(f"/api/tag-rules/{rule['id']}/apply/").json()
    assert applied == {"matched": 3, "added": 3}
    assert admin.post(f"/api/tag-rules/{rule['id']}/apply/").json()["added"] == 0
    assert set(SlideTag.objects.filter(term=lab_b).values_list("source", flat=True)) == {"rule"}
    assert AuditEvent.objects.filter(action="rule.apply").count() == 2
    assert AuditEvent.objects.filter(action="rule.create").count() == 1
    pathologist = api_as("pathologist")
    assert pathologist.post(f"/api/tag-rules/{rule['id']}/apply/").status_code == 403
    assert pathologist.get(f"/api/tag-rules/{rule['id']}/preview/").status_code == 200


def test_suggestions_from_metadata_and_rules(api_as, slides, lab_b):
    admin = api_as("admin")
    admin.post(
        "/api/tag-rules/", {"name": "Lab B", "pattern": "^lab_b/", "term": lab_b.pk}, format="json"
    )
    client = api_as("pathologist")
    suggestions = client.get(f"/api/slides/{slides[3].pk}/suggestions/").json()
    by_term = {s["term"]["name"]: s["reason"] for s in suggestions}
    assert set(by_term) == {"Leica Aperio", "20×", "Lab B"}
    assert "aperio" in by_term["Leica Aperio"] and "rule 'Lab B'" in by_term["Lab B"]
    scanner = next(s["term"]["id"] for s in suggestions if s["term"]["name"] == "Leica Aperio")
    confirmed = client.post(
        f"/api/slides/{slides[3].pk}/tags/",
        {"term": scanner, "source": "suggestion"},
        format="json",
    )
    assert confirmed.json()["source"] == "suggestion"
    again = client.get(f"/api/slides/{slides[3].pk}/suggestions/").json()
    assert "Leica Aperio" not in {s["term"]["name"] for s in again}
    assert {
        s["term"]["name"] for s in client.get(f"/api/slides/{slides[0].pk}/suggestions/").json()
    } == {"Leica Aperio", "20×"}


def test_vocabulary_is_admin_managed(api_as, slides):
    stain = api_as("viewer").get("/api/categories/").json()
    keys = [c["key"] for c in stain]
    assert keys[:6] == ["tissue", "stain", "indication", "fixation", "scanner", "lab"]
    stain_id = next(c["id"] for c in stain if c["key"] == "stain")
    body = {"category": stain_id, "name": "IHC MLH1", "synonyms": ["MLH1"]}
    assert api_as("pathologist").post("/api/terms/", body, format="json").status_code == 403
    admin = api_as("admin")
    created = admin.post("/api/terms/", body, format="json")
    assert created.status_code == 201
    assert admin.post("/api/terms/", body, format="json").status_code == 400  # duplicate
    term_id = created.json()["id"]
    admin.post("/api/tags/bulk/", {"slides": [slides[0].pk], "add": [term_id]}, format="json")
    in_use = admin.delete(f"/api/terms/{term_id}/")
    assert in_use.status_code == 409 and "deactivate" in in_use.json()["detail"]
    assert (
        admin.patch(f"/api/terms/{term_id}/", {"active": False}, format="json").json()["active"]
        is False
    )
    inactive = admin.post(
        "/api/tags/bulk/", {"slides": [slides[1].pk], "add": [term_id]}, format="json"
    )
    assert inactive.status_code == 400 and "Inactive" in inactive.json()["detail"]
    assert AuditEvent.objects.filter(action__startswith="vocabulary.").count() == 2
    found = admin.get("/api/terms/", {"category": "stain", "search": "mlh"}).json()
    assert [t["name"] for t in found["results"]] == ["IHC MLH1"]


def test_renamed_terms_keep_group_rules_working(api_as, slides, term):
    admin = api_as("admin")
    pas = term("stain", "PAS")
    admin.post("/api/tags/bulk/", {"slides": [slides[0].pk], "add": [pas.pk]}, format="json")
    group = admin.post("/api/groups/", {"name": "PAS", "rule": "stain = PAS"}, format="json").json()
    renamed = admin.patch(
        f"/api/terms/{pas.pk}/", {"name": "Periodic acid-Schiff"}, format="json"
    ).json()
    assert "PAS" in renamed["synonyms"]
    assert admin.get(f"/api/groups/{group['id']}/").json()["slide_count"] == 1

    unused = admin.post(
        "/api/terms/", {"category": pas.category_id, "name": "Toluidine blue"}, format="json"
    ).json()
    admin.post("/api/groups/", {"name": "TB", "rule": 'stain = "toluidine blue"'}, format="json")
    refused = admin.delete(f"/api/terms/{unused['id']}/")
    assert refused.status_code == 409 and "TB" in refused.json()["detail"]
