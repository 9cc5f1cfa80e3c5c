"""CSV export and import (round trip, row errors, apply-valid), and the append-only audit log."""

import csv
import io

import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError

from webapp.audit.models import AuditEvent
from webapp.tagging.models import SlideTag
from webapp.tagging.services.tags import tags_change

pytestmark = pytest.mark.django_db


def export(client, **params) -> list[dict]:
    response = client.get("/api/slides/export.csv", params)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def upload(client, rows: list[dict], columns: list[str], **extra):
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns)
    writer.writeheader()
    writer.writerows(rows)
    data = io.BytesIO(out.getvalue().encode())
    data.name = "slides.csv"
    return client.post("/api/slides/import/", {"file": data, **extra}, format="multipart")


def test_round_trip(api_as, slides, term):
    client = api_as("pathologist")
    tags_change(
        actor=None,
        slide_ids=[slides[0].pk],
        add=[term("stain", "H&E"), term("tissue", "Colon"), term("tissue", "Rectum")],
    )
    rows = export(client)
    assert len(rows) == 6
    first = next(r for r in rows if r["slide_id"] == str(slides[0].pk))
    assert first["stain"] == "H&E" and first["tissue"] == "Colon|Rectum"
    assert first["relative_path"] == "lab_a/colon-1.svs" and first["root"] == "archive"

    # Edit the spreadsheet: change a stain, clear a tissue, tag another slide by path.
    first["stain"], first["tissue"] = "PAS", "Colon"
    second = next(r for r in rows if r["slide_id"] == str(slides[1].pk))
    second.update(slide_id="", stain="he", fixation="FFPE")
    result = upload(client, [first, second], list(rows[0].keys()))
    assert result.status_code == 200, result.json()
    assert result.json() == {"applied_rows": 2, "errors": []}
    again = {r["slide_id"]: r for r in export(client)}
    assert again[str(slides[0].pk)]["stain"] == "PAS"
    assert again[str(slides[0].pk)]["tissue"] == "Colon"
    assert again[str(slides[1].pk)]["stain"] == "H&E"
    assert again[str(slides[1].pk)]["fixation"] == "FFPE"
    assert set(SlideTag.objects.filter(slide=slides[1]).values_list("source", flat=True)) == {
        "import"
    }
    filtered = export(client, search="lung")
    assert [r["relative_path"] for r in filtered] == ["lab_a/lung-1.svs"]


def test_import_with_errors_applies_nothing_unless_asked(api_as, slides):
    client = api_as("pathologist")
    columns = ["slide_id", "relative_path", "stain", "tissue"]
    rows = [
        {"slide_id": slides[0].pk, "stain": "H&E", "tissue": "Colon"},
        {"slide_id": 999999, "stain": "H&E"},
        {"slide_id": slides[2].pk, "stain": "H&E|PAS"},
        {"slide_id": slides[3].pk, "tissue": "Colonn"},
        {"relative_path": "lab_z/none.svs", "stain": "H&E"},
        {"slide_id": "abc"},
        {"relative_path": "lab_a/colon-1.svs", "stain": "PAS"},  # row 2's slide again
    ]
    refused = upload(client, rows, columns)
    assert refused.status_code == 400
    errors = refused.json()["errors"]
    assert [(e["row"], e["column"]) for e in errors] == [
        (3, "slide_id"),
        (4, "stain"),
        (5, "tissue"),
        (6, "relative_path"),
        (7, "slide_id"),
        (8, "slide_id"),
    ]
    assert "No slide with id 999999" in errors[0]["message"]
    assert "holds one term" in errors[1]["message"]
    assert "No term 'Colonn'" in errors[2]["message"]
    assert "in row 2 already" in errors[5]["message"]
    assert not SlideTag.objects.exists()

    applied = upload(client, rows, columns, apply_valid="true")
    assert applied.status_code == 200 and applied.json()["applied_rows"] == 1
    assert SlideTag.objects.filter(slide=slides[0]).count() == 2


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"slide_id,organ\n1,colon\n", "Unknown columns: organ"),
        (b"\xff\xfe\x00garbage", "not UTF-8"),
        (b"", "file is empty"),
        (b"just one line without commas", "Unknown columns"),
    ],
)
def test_unusable_files_are_400(api_as, slides, content, message):
    data = io.BytesIO(content)
    data.name = "x.csv"
    response = api_as("pathologist").post("/api/slides/import/", {"file": data}, format="multipart")
    assert response.status_code == 400 and message in response.json()["detail"]


def test_viewer_cannot_import(api_as, slides):
    data = io.BytesIO(b"slide_id,stain\n")
    data.name = "x.csv"
    assert (
        api_as("viewer").post("/api/slides/import/", {"file": data}, format="multipart").status_code
        == 403
    )


def test_audit_api_and_append_only(api_as, slides, term):
    client = api_as("pathologist")
    client.post(
        "/api/tags/bulk/",
        {"slides": [slides[0].pk], "add": [term("stain", "H&E").pk]},
        format="json",
    )
    events = api_as("viewer").get("/api/audit/", {"slide": slides[0].pk}).json()["results"]
    assert events[0]["action"] == "tag.add" and events[0]["actor_name"] == "pathologist-user"
    assert events[0]["after"]["name"] == "H&E" and events[0]["slide"] == slides[0].pk
    assert api_as("viewer").get("/api/audit/", {"action": "tag"}).json()["count"] == 1
    assert api_as("viewer").get("/api/audit/", {"action": "group"}).json()["count"] == 0
    assert client.delete(f"/api/audit/{events[0]['id']}/").status_code == 405
    for statement in ("UPDATE audit_auditevent SET action = 'x'", "DELETE FROM audit_auditevent"):
        with pytest.raises(DatabaseError, match="append-only"):
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(statement)
    assert AuditEvent.objects.count() == 1
