"""Tagging: one slide and many, single-valued categories, review status, audit, races."""

import threading

import pytest
from django.db import connection

from webapp.audit.models import AuditEvent
from webapp.slides.models import ReviewStatus, Slide
from webapp.tagging.models import SlideTag

pytestmark = pytest.mark.django_db


def tag_names(slide):
    return sorted(SlideTag.objects.filter(slide=slide).values_list("term__name", flat=True))


def test_tag_one_slide_and_remove(api_as, slides, term):
    client = api_as("pathologist")
    slide = slides[0]
    created = client.post(
        f"/api/slides/{slide.pk}/tags/", {"term": term("stain", "H&E").pk}, format="json"
    )
    assert created.status_code == 201
    assert created.json()["category_key"] == "stain" and created.json()["created_by"]
    assert Slide.objects.get(pk=slide.pk).review_status == ReviewStatus.TAGGED
    detail = client.get(f"/api/slides/{slide.pk}/").json()
    assert [t["term_name"] for t in detail["tags"]] == ["H&E"]
    removed = client.delete(f"/api/slides/{slide.pk}/tags/{term('stain', 'H&E').pk}/")
    assert removed.status_code == 204
    assert Slide.objects.get(pk=slide.pk).review_status == ReviewStatus.UNTAGGED
    actions = list(AuditEvent.objects.filter(slide_id=slide.pk).values_list("action", flat=True))
    assert sorted(actions) == ["tag.add", "tag.remove"]


def test_single_valued_category_replaces(api_as, slides, term):
    client = api_as("pathologist")
    slide = slides[0]
    for name in ("H&E", "PAS"):
        client.post(
            f"/api/slides/{slide.pk}/tags/", {"term": term("stain", name).pk}, format="json"
        )
    assert tag_names(slide) == ["PAS"]
    removal = AuditEvent.objects.get(action="tag.remove", slide_id=slide.pk)
    assert removal.before["name"] == "H&E"


def test_multi_valued_category_accumulates(api_as, slides, term):
    client = api_as("pathologist")
    for name in ("Colon", "Lymph node"):
        client.post(
            f"/api/slides/{slides[0].pk}/tags/", {"term": term("tissue", name).pk}, format="json"
        )
    assert tag_names(slides[0]) == ["Colon", "Lymph node"]


def test_bulk_tagging(api_as, slides, term):
    client = api_as("pathologist")
    ids = [s.pk for s in slides]
    body = {"slides": ids, "add": [term("stain", "H&E").pk, term("tissue", "Colon").pk]}
    result = client.post("/api/tags/bulk/", body, format="json").json()
    assert result == {"slides": 6, "added": 12, "removed": 0}
    again = client.post("/api/tags/bulk/", body, format="json").json()
    assert again["added"] == 0  # idempotent
    swap = {
        "slides": ids[:2],
        "add": [term("stain", "PAS").pk],
        "remove": [term("tissue", "Colon").pk],
    }
    assert client.post("/api/tags/bulk/", swap, format="json").json() == {
        "slides": 2,
        "added": 2,
        "removed": 4,
    }
    assert tag_names(slides[0]) == ["PAS"]
    assert AuditEvent.objects.filter(action="tag.add").count() == 14


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"slides": [999999], "add": ["stain:H&E"]}, "Unknown slide ids: 999999"),
        ({"slides": [], "add": ["stain:H&E"]}, "slides"),
        ({"slides": ["first"], "add": ["stain:H&E"]}, "slides"),
        ({"slides": "all", "add": ["stain:H&E"]}, "slides"),
        ({"slides": [0], "add": [123456]}, "add"),
        ({"slides": [0], "add": ["stain:H&E", "stain:PAS"]}, "holds one term per slide"),
        ({"slides": [0], "add": ["stain:H&E"], "remove": ["stain:H&E"]}, "added and removed"),
        ({"slides": list(range(1, 10_002)), "add": ["stain:H&E"]}, "slides"),
    ],
)
def test_bulk_bad_input_is_400_naming_the_problem(api_as, slides, term, body, message):
    def resolve(value):
        if isinstance(value, str) and ":" in value:
            return term(*value.split(":")).pk
        return value

    body = {k: [resolve(v) for v in vs] if isinstance(vs, list) else vs for k, vs in body.items()}
    if body["slides"] == [0]:
        body["slides"] = [slides[0].pk]
    response = api_as("pathologist").post("/api/tags/bulk/", body, format="json")
    assert response.status_code == 400, response.json()
    assert message in str(response.json()), response.json()
    assert not SlideTag.objects.exists()


def test_review_status(api_as, slides, term):
    client = api_as("pathologist")
    ids = [slides[0].pk, slides[1].pk]
    missing_reason = client.post(
        "/api/slides/review/", {"slides": ids, "status": "excluded"}, format="json"
    )
    assert missing_reason.status_code == 400 and "reason" in missing_reason.json()["detail"]
    client.post(
        "/api/slides/review/",
        {"slides": ids, "status": "excluded", "reason": "pen marks"},
        format="json",
    )
    assert set(Slide.objects.filter(pk__in=ids).values_list("review_status", flat=True)) == {
        "excluded"
    }
    # Tagging keeps a person's decision; reopening goes back to following the tags.
    client.post("/api/tags/bulk/", {"slides": ids, "add": [term("stain", "H&E").pk]}, format="json")
    assert Slide.objects.get(pk=ids[0]).review_status == "excluded"
    client.post("/api/slides/review/", {"slides": ids, "status": "tagged"}, format="json")
    assert Slide.objects.get(pk=ids[0]).review_status == "tagged"
    listed = client.get("/api/slides/", {"review_status": "untagged"}).json()
    assert {s["id"] for s in listed["results"]} == {s.pk for s in slides[2:]}
    assert AuditEvent.objects.filter(action="review.set").count() == 4


def test_viewer_cannot_tag(api_as, slides, term):
    client = api_as("viewer")
    assert (
        client.post(
            f"/api/slides/{slides[0].pk}/tags/", {"term": term("stain", "H&E").pk}, format="json"
        ).status_code
        == 403
    )
    assert (
        client.post("/api/tags/bulk/", {"slides": [slides[0].pk]}, format="json").status_code == 403
    )
    assert client.get(f"/api/slides/{slides[0].pk}/tags/").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_concurrent_bulk_edits_lose_no_update(slides, term, make_user):
    """Two pathologists tag the same slides at once with different terms: both land."""
    from webapp.tagging.services.tags import tags_change

    users = [make_user("pathologist", username=f"p{i}") for i in range(2)]
    ids = [s.pk for s in slides]
    terms = [term("tissue", "Colon"), term("indication", "Adenocarcinoma")]
    barrier = threading.Barrier(2)
    errors = []

    def work(i):
        try:
            barrier.wait()
            for _ in range(5):
                tags_change(actor=users[i], slide_ids=ids, add=[terms[i]])
                tags_change(actor=users[i], slide_ids=ids, remove=[terms[i]])
            tags_change(actor=users[i], slide_ids=ids, add=[terms[i]])
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for slide in slides:
        assert tag_names(slide) == sorted(t.name for t in terms)
    assert AuditEvent.objects.filter(action="tag.add").count() == 2 * 6 * 6
    assert AuditEvent.objects.filter(action="tag.remove").count() == 2 * 5 * 6
