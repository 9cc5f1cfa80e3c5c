"""Bad input at every entry point, table-driven: broken slides in a scan, slides that vanish
or rot between scan and tiling, unusable CSV imports, invalid rules, oversized / malformed /
mistyped requests, awkward unicode in names, and path tricks on file-serving endpoints.

Each row proves three things: the answer is a clear 4xx (or a slide / tiling `failed`) whose
message names the problem; the rest of the batch goes on; nothing is lost or half-written.
See docs/reliability.md, "Bad input".
"""

import io
import json
import os
import shutil
import time
from pathlib import Path

import pytest
from PIL import Image

from tests.slide_corpus import REAL_SVS
from tests.webapp.tagging import conftest as tagging_fixtures
from webapp.slides.models import ScanStatus, Slide, SlideStatus
from webapp.slides.services import registration, roots

pytestmark = pytest.mark.django_db

GOOD = "demo-ihc-aperio.svs"  # the cheapest demo slide (see tests/webapp/slides/conftest.py)


def error_of(response, status: int, *words: str) -> dict:
    """The response has `status`, the error shape, and a detail naming every word."""
    assert response.status_code == status, (response.status_code, _body(response))
    body = response.json()
    assert isinstance(body.get("detail"), str) and isinstance(body.get("code"), str), body
    text = json.dumps(body).lower()
    for word in words:
        assert word.lower() in text, (word, body)
    return body


def _body(response):
    try:
        return response.json()
    except Exception:  # noqa: BLE001 - not JSON: show the start of it
        return getattr(response, "content", b"")[:300]


# --------------------------------------------------------------------------- slides: scan


def _good_copy(demo: Path, target: Path) -> None:
    shutil.copy(demo / GOOD, target)


def _truncated(demo: Path, target: Path) -> None:
    source = REAL_SVS if REAL_SVS.is_file() else demo / GOOD
    data = source.read_bytes()
    target.write_bytes(data[: len(data) // 3])


def _jpeg(demo: Path, target: Path) -> None:
    Image.new("RGB", (64, 64), (200, 100, 150)).save(target, format="JPEG")


def _unreadable(demo: Path, target: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("running as root: a chmod 000 file stays readable")
    _good_copy(demo, target)
    target.chmod(0)


def _loop(demo: Path, target: Path) -> None:
    target.symlink_to(target.name)  # points at itself


def _escape(demo: Path, target: Path) -> None:
    outside = target.parent.parent / "outside-secret.svs"
    outside.write_bytes(b"not yours")
    target.symlink_to(outside)


# (file name, how to make it, reason the failed slide gives | None: registered | "ignored")
SCAN_CASES = [
    ("empty.svs", lambda d, t: t.write_bytes(b""), "empty (0 bytes)"),
    ("truncated.svs", _truncated, "damaged or incomplete"),
    ("photo.svs", _jpeg, "JPEG image"),
    ("photo.ndpi", _jpeg, "JPEG image"),
    ("garbage.svs", lambda d, t: t.write_bytes(os.urandom(100_000)), "no whole-slide format"),
    ("zeros.tiff", lambda d, t: t.write_bytes(bytes(4096)), "no whole-slide format"),
    ("folder.svs", lambda d, t: t.mkdir(), "ignored"),
    ("unreadable.svs", _unreadable, "cannot be read"),
    ("loop.svs", _loop, "Broken symbolic link"),
    ("escape.svs", _escape, "outside the slide root"),
    ("Schnitt ü 日本 \u202eevil.svs", _good_copy, None),
    ("two  spaces and\ttab.svs", _good_copy, None),
    ("new\nline.svs", _good_copy, None),
    ("x" * 251 + ".svs", _good_copy, None),  # 255 bytes: the longest name Linux allows
    ("bad ünïcode\n" + "y" * 200 + ".svs", lambda d, t: t.write_bytes(b"junk"), "no whole"),
]


@pytest.fixture
def bad_root(tmp_path, demo_slide_dir):
    folder = tmp_path / "bad-root" / "slides"
    folder.mkdir(parents=True)
    _good_copy(demo_slide_dir, folder / "good-one.svs")
    return folder


@pytest.mark.parametrize(
    ("name", "make", "reason"), SCAN_CASES, ids=[c[0][:30].encode().hex()[:16] for c in SCAN_CASES]
)
def test_scan_fails_each_bad_file_and_registers_the_rest(
    bad_root, demo_slide_dir, name, make, reason
):
    make(demo_slide_dir, bad_root / name)
    root = roots.root_create(name="bad", path=str(bad_root))

    job = registration.scan_run_inline(scan=registration.scan_start(root=root), chunk_size=1)

    assert job.status == ScanStatus.SUCCEEDED
    good = Slide.objects.get(relative_path="good-one.svs")
    assert good.status == SlideStatus.REGISTERED and good.width > 0
    slide = Slide.objects.filter(relative_path=name).first()
    if reason == "ignored":
        assert slide is None and job.total == 1
    elif reason is None:
        assert slide.status == SlideStatus.REGISTERED, slide.failure_reason
        assert slide.name == name  # the name round-trips exactly
        assert slide.fingerprint == good.fingerprint  # the same bytes
    else:
        assert slide.status == SlideStatus.FAILED
        assert reason in slide.failure_reason, slide.failure_reason
        assert job.failed == 1 and job.registered == 1
    rows = sorted(Slide.objects.values_list("relative_path", "status", "failure_reason"))

    again = registration.scan_run_inline(scan=registration.scan_start(root=root), chunk_size=1)

    assert again.status == ScanStatus.SUCCEEDED and again.registered == again.failed == 0
    assert sorted(Slide.objects.values_list("relative_path", "status", "failure_reason")) == rows


def test_whole_corpus_in_one_scan(bad_root, demo_slide_dir):
    """Every bad file of the table in one batch with the good slides: one scan, all settled."""
    for name, make, _ in SCAN_CASES:
        if make is not _unreadable or os.geteuid() != 0:
            make(demo_slide_dir, bad_root / name)
    root = roots.root_create(name="bad", path=str(bad_root))
    job = registration.scan_run_inline(scan=registration.scan_start(root=root), chunk_size=3)
    assert job.status == ScanStatus.SUCCEEDED
    for name, _, reason in SCAN_CASES:
        slide = Slide.objects.filter(relative_path=name).first()
        if reason == "ignored" or (name == "unreadable.svs" and os.geteuid() == 0):
            continue
        expected = SlideStatus.REGISTERED if reason is None else SlideStatus.FAILED
        assert slide.status == expected, (name, slide.failure_reason)
        assert reason is None or reason in slide.failure_reason
    assert job.total == job.processed == job.registered + job.failed + job.moved


# ------------------------------------------------------------ slides: between scan and tiling


def _vanish(path: Path) -> None:
    path.unlink()


def _rot(path: Path) -> None:
    path.write_bytes(os.urandom(50_000))


def _empty(path: Path) -> None:
    path.write_bytes(b"")


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (_vanish, "does not exist"),
        (_rot, "no whole-slide format"),
        (_empty, "empty"),
    ],
    ids=["vanished", "garbage", "emptied"],
)
def test_file_changed_between_scan_and_tiling(tmp_path, demo_slide_dir, data_root, change, reason):
    from webapp.tiling import services as tiling
    from webapp.tiling.models import RunStatus, TileStatus

    folder = tmp_path / "tile-root"
    folder.mkdir()
    shutil.copy(demo_slide_dir / GOOD, folder / "a.svs")
    shutil.copy(demo_slide_dir / "demo-ihc-small.tiff", folder / "b.tiff")
    root = roots.root_create(name="tile", path=str(folder))
    registration.scan_run_inline(scan=registration.scan_start(root=root))
    config = tiling.config_create(
        name="coarse", params={"tile_size": 128, "target_mpp": 4.0, "min_tissue_fraction": 0.5}
    )
    change(folder / "b.tiff")

    run = tiling.run_start(config=config, untiled=True)
    for tiling_id in tiling.run_tilings(run):
        tiling.slide_tile(tiling_id=tiling_id)

    run.refresh_from_db()
    by_name = {t.slide.relative_path: t for t in run.slide_tilings.select_related("slide")}
    assert by_name["a.svs"].status == TileStatus.DONE and by_name["a.svs"].tile_count > 0
    broken = by_name["b.tiff"]
    assert broken.status == TileStatus.FAILED and reason in broken.error, broken.error
    assert not broken.path
    assert (run.status, run.done, run.failed) == (RunStatus.PARTIAL, 1, 1)
    # Nothing half-written: the store holds the good slide's tiles and nothing else.
    good_stem = Path(by_name["a.svs"].path).name.split(".")[0]
    stored = [p for p in (data_root / "tiles").rglob("*") if p.is_file()]
    assert stored and all(p.name.startswith(good_stem) for p in stored), stored


# ------------------------------------------------------------------------------ CSV import

# The tagging tests' fixtures: six slide rows, the starter vocabulary (autouse), `term`.
slides = tagging_fixtures.slides
term = tagging_fixtures.term
vocabulary = tagging_fixtures.vocabulary

HEADER = "slide_id,stain,tissue\n"


def _csv(text: str, encoding: str = "utf-8") -> bytes:
    return text.encode(encoding)


def _zip() -> bytes:
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("xl/workbook.xml", "<workbook/>")
    return out.getvalue()


# (id, file bytes with {a} {b} for two slide ids, apply_valid, status, words, tagged slides)
CSV_CASES = [
    ("utf8-bom", lambda a, b: _csv(f"{HEADER}{a},H&E,Colon\n", "utf-8-sig"), False, 200, [], 1),
    ("utf16-bom", lambda a, b: _csv(f"{HEADER}{a},H&E,Colon\n", "utf-16"), False, 200, [], 1),
    (
        "latin-1",
        lambda a, b: _csv(f"{HEADER}{a},H&E,Colon\n{b},PAS,Gewebe \xe4\n", "latin-1"),
        False,
        400,
        ["not UTF-8"],
        0,
    ),
    ("xlsx", lambda a, b: _zip(), False, 400, ["not UTF-8"], 0),
    (
        "no-header",
        lambda a, b: _csv(f"{a},H&E,Colon\n{b},PAS,Colon\n"),
        False,
        400,
        ["Unknown columns"],
        0,
    ),
    (
        "unknown-column",
        lambda a, b: _csv(f"slide_id,organ\n{a},colon\n"),
        False,
        400,
        ["Unknown columns: organ"],
        0,
    ),
    ("empty", lambda a, b: b"", False, 400, ["empty"], 0),
    ("header-only", lambda a, b: _csv(HEADER), False, 200, [], 0),
    (
        "duplicate-rows",
        lambda a, b: _csv(f"{HEADER}{a},H&E,\n{a},H&E,\n"),
        False,
        400,
        ["in row 2 already"],
        0,
    ),
    (
        "duplicate-rows-apply",
        lambda a, b: _csv(f"{HEADER}{a},H&E,\n{a},H&E,\n"),
        True,
        200,
        ["in row 2 already"],
        1,
    ),
    (
        "unknown-slide",
        lambda a, b: _csv(f"{HEADER}{a},H&E,\n999999,H&E,\n"),
        False,
        400,
        ["No slide with id 999999"],
        0,
    ),
    (
        "unknown-slide-apply",
        lambda a, b: _csv(f"{HEADER}{a},H&E,\n999999,H&E,\n{b},PAS,\n"),
        True,
        200,
        ["No slide with id 999999"],
        2,
    ),
    (
        "not-an-id",
        lambda a, b: _csv(f"{HEADER}1e3,H&E,\n"),
        False,
        400,
        ["'1e3' is not a slide id"],
        0,
    ),
    (
        "unknown-term",
        lambda a, b: _csv(f"{HEADER}{a},H&E,Colonn\n"),
        False,
        400,
        ["No term 'Colonn'"],
        0,
    ),
    (
        "huge-line",
        lambda a, b: _csv(f"{HEADER}{a},H&E,{'x' * 300_000}\n"),
        False,
        400,
        ["line 2", "field larger"],
        0,
    ),
    (
        "nul-bytes",
        lambda a, b: _csv("slide_id,relative_path,stain\n,lab\x00a/x.svs,H&E\n"),
        False,
        400,
        ["NUL"],
        0,
    ),
    (
        "formula-cells",
        lambda a, b: _csv(f'{HEADER}{a},"=HYPERLINK(""x"")",@SUM(1+1)\n'),
        False,
        400,
        ["No term '=HYPERLINK(\"x\")'", "No term '@SUM(1+1)'"],
        0,
    ),
    (
        "ragged-rows",
        lambda a, b: _csv(f"{HEADER}{a},H&E,Colon,extra,cells\n{b}\n"),
        False,
        200,
        [],
        1,
    ),
]


@pytest.mark.parametrize(
    ("content", "apply_valid", "status", "words", "tagged"),
    [c[1:] for c in CSV_CASES],
    ids=[c[0] for c in CSV_CASES],
)
def test_csv_import(api_as, slides, content, apply_valid, status, words, tagged):
    from webapp.tagging.models import SlideTag

    data = io.BytesIO(content(slides[0].pk, slides[1].pk))
    data.name = "slides.csv"
    response = api_as("pathologist").post(
        "/api/slides/import/",
        {"file": data, "apply_valid": str(apply_valid).lower()},
        format="multipart",
    )
    assert response.status_code == status, response.json()
    body = response.json()
    text = " ".join([body.get("detail", ""), *(e["message"] for e in body.get("errors", []))])
    for word in words:
        assert word in text, (word, body)
    if status >= 400:
        assert body["detail"] and body["code"]
    # Nothing half-applied: either the valid rows or nothing.
    assert SlideTag.objects.values("slide").distinct().count() == tagged


def test_csv_over_the_upload_limit_is_413(api_as, slides):
    data = io.BytesIO(b"slide_id,stain\n" + b"1,H&E\n" * (50 * 1024 * 1024 // 6 + 1))
    data.name = "big.csv"
    response = api_as("pathologist").post("/api/slides/import/", {"file": data}, format="multipart")
    error_of(response, 413, "larger than 50 MB", "too_large")


def test_csv_export_defuses_formula_cells(api_as, tmp_path):
    """A file or term named like a spreadsheet formula is exported as text, and the exported
    file imports back to the same slide."""
    import csv

    from webapp.slides.models import SlideRoot
    from webapp.tagging.models import SlideTag

    root = SlideRoot.objects.create(name="=evil", path=str(tmp_path))
    names = ['=HYPERLINK("http://x")', "+1+1.svs", "-2.svs", "@SUM(A1).svs", "ok.svs"]
    made = [
        Slide.objects.create(root=root, relative_path=n, name=n, status=SlideStatus.REGISTERED)
        for n in names
    ]
    client = api_as("pathologist")
    response = client.get("/api/slides/export.csv")
    text = b"".join(response.streaming_content).decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    for row in rows:
        for value in row.values():
            assert (value or "")[:1] not in ("=", "+", "-", "@", "\t", "\r"), row
    assert {r["relative_path"] for r in rows} == {"'" + n for n in names[:-1]} | {"ok.svs"}
    # The exported file round-trips: rows found by root and path, a term applied to each.
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=["root", "relative_path", "stain"])
    writer.writeheader()
    for row in rows:
        writer.writerow(
            {"root": row["root"], "relative_path": row["relative_path"], "stain": "PAS"}
        )
    data = io.BytesIO(out.getvalue().encode())
    data.name = "back.csv"
    result = client.post("/api/slides/import/", {"file": data}, format="multipart")
    assert result.status_code == 200, result.json()
    assert SlideTag.objects.filter(slide__in=made).count() == len(made)


# ---------------------------------------------------------------------------------- rules

RULE_CASES = [
    ("syntax", "stain =", 400, ["does not parse", "Expected a term at 8"]),
    ("unclosed", "(stain = H&E", 400, ["Expected ')'"]),
    ("unknown-category", "organ = colon", 400, ["Unknown category 'organ'"]),
    ("unknown-term", "tissue = Colonn", 400, ["No term 'Colonn'"]),
    ("nul", "stain = H\x00E", 400, ["null characters"]),
    ("too-long", "stain = H&E OR " * 400 + "stain = PAS", 400, ["5000 characters"]),
    ("deep-not", "NOT " * 1200 + "stain = PAS", 400, ["nested too deeply"]),
    ("deep-parens", "(" * 2400 + "stain = PAS" + ")" * 2400, 400, ["nested too deeply"]),
    ("unterminated", 'stain = "' + "\\\\" * 2000, 400, ["Unexpected character"]),
    ("long-but-fine", " OR ".join(["stain = PAS"] * 300), 200, []),
    ("unicode", "stain = 'H&E\u200b\u202e'", 400, ["No term"]),
]


@pytest.mark.parametrize(
    ("rule", "status", "words"), [c[1:] for c in RULE_CASES], ids=[c[0] for c in RULE_CASES]
)
def test_group_rules(api_as, slides, rule, status, words):
    from webapp.tagging.models import SlideGroup

    client = api_as("pathologist")
    started = time.monotonic()
    preview = client.post("/api/groups/preview/", {"rule": rule}, format="json")
    created = client.post(
        "/api/groups/", {"name": "g", "kind": "rule", "rule": rule}, format="json"
    )
    assert time.monotonic() - started < 5
    if status == 200:
        assert preview.status_code == 200 and created.status_code == 201, created.json()
        return
    error_of(preview, status, *words)
    error_of(created, status, *words)
    assert not SlideGroup.objects.exists()


TAG_RULE_CASES = [
    ("unbalanced", "(colon", 400, ["Not a valid regular expression"]),
    ("named-group", "(?P<x>colon)", 400, ["Named groups"]),
    ("look-behind", "(?<=lab_a/)colon", 400, ["look-behind"]),
    ("repetition-too-big-for-postgres", r"\d{1,300}", 400, ["regular expression"]),
    ("empty", "", 400, ["blank"]),
    ("too-long", "a" * 501, 400, ["500 characters"]),
    ("nul", "co\x00lon", 400, ["null characters"]),
    ("catastrophic-backtracking", r"(a+)+$", 201, []),
    ("alternation-backtracking", r"^(a|aa)+$", 201, []),
]


@pytest.mark.parametrize(
    ("pattern", "status", "words"),
    [c[1:] for c in TAG_RULE_CASES],
    ids=[c[0] for c in TAG_RULE_CASES],
)
def test_tag_rule_patterns(api_as, slides, term, pattern, status, words):
    """Patterns are checked by Python and by PostgreSQL at save time; a pathological one is
    harmless: matching runs in PostgreSQL, whose engine does not backtrack exponentially."""
    from webapp.tagging.models import TagRule

    slow = Slide.objects.create(
        root=slides[0].root,
        relative_path="a" * 60 + "!",
        name="a" * 60 + "!",
        status=SlideStatus.REGISTERED,
    )
    client = api_as("admin")
    body = {"name": "r", "field": "path", "pattern": pattern, "term": term("stain", "PAS").pk}
    response = client.post("/api/tag-rules/", body, format="json")
    if status != 201:
        error_of(response, status, *words)
        assert not TagRule.objects.exists()
        return
    assert response.status_code == 201, response.json()
    started = time.monotonic()
    preview = client.get(f"/api/tag-rules/{response.json()['id']}/preview/")
    suggestions = client.get(f"/api/slides/{slow.pk}/suggestions/")
    assert preview.status_code == 200 and suggestions.status_code == 200
    assert time.monotonic() - started < 5


# ------------------------------------------------------------------------------- requests

BIG = 3 * 1024 * 1024  # over DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB)

REQUEST_CASES = [
    # (id, path, raw body, content type, status, words)
    (
        "oversized-json",
        "/api/groups/",
        json.dumps({"name": "x" * BIG}),
        "application/json",
        413,
        ["too_large", "2.5 MB"],
    ),
    (
        "oversized-form",
        "/api/groups/",
        "name=" + "x" * BIG,
        "application/x-www-form-urlencoded",
        413,
        ["too_large"],
    ),
    (
        "wrong-content-type",
        "/api/groups/",
        '{"name": "g"}',
        "text/plain",
        415,
        ["unsupported media type"],
    ),
    ("xml", "/api/tags/bulk/", "<slides/>", "application/xml", 415, ["unsupported media type"]),
    (
        "malformed-json",
        "/api/groups/",
        '{"name": "g",',
        "application/json",
        400,
        ["JSON parse error"],
    ),
    (
        "json-not-object",
        "/api/groups/",
        "[1, 2]",
        "application/json",
        400,
        ["expected a dictionary"],
    ),
    ("json-nan", "/api/groups/", '{"name": "g", "weight": NaN}', "application/json", 400, ["NaN"]),
    (
        "deep-json",
        "/api/groups/",
        "[" * 100_000 + "]" * 100_000,
        "application/json",
        400,
        ["nested too deeply"],
    ),
    (
        "deep-json-value",
        "/api/groups/",
        '{"name": ' + "[" * 5000 + "]" * 5000 + "}",
        "application/json",
        400,
        ["nested too deeply"],
    ),
    (
        "not-utf8",
        "/api/groups/",
        b'{"name": "\xff\xfe"}',
        "application/json",
        400,
        ["JSON parse error"],
    ),
    (
        "lone-surrogate",
        "/api/groups/",
        '{"name": "a\\ud800b", "kind": "explicit"}',
        "application/json",
        400,
        ["name"],
    ),
    (
        "ids-as-string",
        "/api/tags/bulk/",
        '{"slides": "1,2", "add": [1]}',
        "application/json",
        400,
        ["slides"],
    ),
    (
        "ids-as-floats",
        "/api/tags/bulk/",
        '{"slides": [1.5], "add": [1]}',
        "application/json",
        400,
        ["slides"],
    ),
    (
        "ids-huge",
        "/api/tags/bulk/",
        '{"slides": [99999999999999999999], "add": [1]}',
        "application/json",
        400,
        ["Unknown slide ids"],
    ),
    (
        "weight-string",
        "/api/groups/",
        '{"name": "g", "weight": "heavy"}',
        "application/json",
        400,
        ["weight"],
    ),
    (
        "weight-infinite",
        "/api/groups/",
        '{"name": "g", "weight": 1e400}',
        "application/json",
        400,
        ["weight"],
    ),
    (
        "token-scope",
        "/api/tokens/",
        '{"name": "t", "scope": "root"}',
        "application/json",
        400,
        ["scope"],
    ),
    (
        "tiling-params-string",
        "/api/tiling-configs/",
        '{"name": "c", "params": "big"}',
        "application/json",
        400,
        ["params"],
    ),
    (
        "tiling-params-type",
        "/api/tiling-configs/",
        '{"name": "c", "params": {"tile_size": "big"}}',
        "application/json",
        400,
        ["tile_size must be a number"],
    ),
    (
        "tiling-params-nul",
        "/api/tiling-configs/",
        '{"name": "c", "params": {"tile_size": 128, "x\\u0000": 1}}',
        "application/json",
        400,
        ["x"],
    ),
    (
        "preview-rule-list",
        "/api/groups/preview/",
        '{"rule": ["stain", "=", "PAS"]}',
        "application/json",
        400,
        ["rule"],
    ),
]


@pytest.mark.parametrize(
    ("path", "body", "content_type", "status", "words"),
    [c[1:] for c in REQUEST_CASES],
    ids=[c[0] for c in REQUEST_CASES],
)
def test_bad_requests(api_as, slides, path, body, content_type, status, words):
    from webapp.tagging.models import SlideGroup, SlideTag
    from webapp.tiling.models import TilingConfig

    client = api_as("admin")
    response = client.generic("POST", path, body, content_type=content_type)
    error_of(response, status, *words)
    assert not SlideGroup.objects.exists() and not SlideTag.objects.exists()
    assert not TilingConfig.objects.exists()
    # The same client goes on working afterwards.
    assert (
        client.post(
            "/api/groups/", {"name": "after", "kind": "explicit"}, format="json"
        ).status_code
        == 201
    )


# -------------------------------------------------------------------------- names (unicode)

NAMES = [
    # (id, name, status, words): 201/200 = stored and read back exactly
    ("accents-cjk-emoji", "Darm ü 日本語 🧫", 200, []),
    ("rtl-override", "\u202eגדול مرحبا", 200, []),
    ("zero-width", "a\u200bb\u200dc\ufeff", 200, []),
    ("combining", "e\u0301\u0308", 200, []),
    ("inner-newline-tab", "a\nb\tc", 200, []),
    ("path-like", "../../etc/passwd", 200, []),
    ("html", "<script>alert(1)</script>", 200, []),
    ("nul", "a\x00b", 400, ["null characters"]),
    ("lone-surrogate", "a\ud800b", 400, ["surrogate"]),
    ("blank", "   ", 400, ["blank"]),
    ("too-long", "n" * 1000, 400, ["no more than"]),
]


def _send(client, method, path, data):
    """JSON with \\u escapes (ensure_ascii): a lone surrogate travels as JSON allows."""
    return client.generic(method, path, json.dumps(data), content_type="application/json")


def _group(client, name, world):
    r = _send(client, "POST", "/api/groups/", {"name": name, "kind": "explicit"})
    return r, (lambda: client.get(f"/api/groups/{r.json()['id']}/").json()["name"])


def _token(client, name, world):
    r = _send(client, "POST", "/api/tokens/", {"name": name})
    return r, (lambda: client.get("/api/tokens/").json()[0]["name"])


def _category(client, name, world):
    r = _send(client, "POST", "/api/semantic-categories/", {"name": name, "colour": "#112233"})
    return r, (lambda: client.get(f"/api/semantic-categories/{r.json()['id']}/").json()["name"])


def _dataset(client, name, world):
    r = _send(client, "PATCH", f"/api/datasets/{world.pk}/", {"name": name})
    return r, (lambda: client.get(f"/api/datasets/{world.pk}/").json()["name"])


def _training(client, name, world):
    from webapp.datasets.models import DatasetVersion

    DatasetVersion.objects.filter(pk=world.pk).update(status="built", checksum="a" * 64)
    body = {
        "name": name,
        "dataset_version": world.pk,
        "preset": "cpu_smoke",
        "overrides": {"total_steps": 6, "checkpoint_every": 3, "batch_size": 4},
    }
    r = _send(client, "POST", "/api/training/runs/", body)
    return r, (lambda: client.get(f"/api/training/runs/{r.json()['id']}/").json()["name"])


def _tiling_config(client, name, world):
    r = _send(client, "POST", "/api/tiling-configs/", {"name": name, "params": {}})
    return r, (lambda: client.get(f"/api/tiling-configs/{r.json()['id']}/").json()["name"])


ENDPOINTS = {
    "group": _group,
    "token": _token,
    "semantic-category": _category,
    "dataset-version": _dataset,
    "training-run": _training,
    "tiling-config": _tiling_config,
}


@pytest.fixture
def draft_version(db):
    """A draft dataset version's rows (no files), enough to rename and to launch on."""
    from webapp.clusters.models import ClusterRun
    from webapp.datasets.models import DatasetVersion
    from webapp.tiling.models import TilingConfig

    config = TilingConfig.objects.create(name="tr", params={}, key="t-tr")
    run = ClusterRun.objects.create(
        name="r", config=config, feature_kind="colour", params={}, status="succeeded"
    )
    return DatasetVersion.objects.create(
        name="colon v1",
        cluster_run=run,
        recipe={},
        status="draft",
        folder="datasets/version-rows",
        row_count=300,
    )


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
@pytest.mark.parametrize(
    ("name", "status", "words"), [c[1:] for c in NAMES], ids=[c[0] for c in NAMES]
)
def test_names_round_trip_or_400(api_as, draft_version, endpoint, name, status, words):
    client = api_as("admin")
    response, read_back = ENDPOINTS[endpoint](client, name, draft_version)
    if status == 200:
        assert response.status_code in (200, 201), response.json()
        assert read_back() == name
    else:
        error_of(response, status, "name", *words)


# NUL inside JSON documents (jsonb refuses \u0000: it must be a 400, never a 500).
JSON_NUL_CASES = [
    (
        "tiling-params-value",
        "POST",
        "/api/tiling-configs/",
        lambda v: {"name": "c", "params": {"features": "a\x00"}},
    ),
    (
        "tiling-params-key",
        "POST",
        "/api/tiling-configs/",
        lambda v: {"name": "c", "params": {"a\x00": 1}},
    ),
    (
        "dataset-recipe-value",
        "PATCH",
        "/api/datasets/{pk}/",
        lambda v: {"recipe": {"name": "a\x00"}},
    ),
    ("dataset-recipe-key", "PATCH", "/api/datasets/{pk}/", lambda v: {"recipe": {"a\x00": 1}}),
    (
        "dataset-preview-recipe",
        "POST",
        "/api/datasets/{pk}/preview/",
        lambda v: {"recipe": {"x": ["\x00"]}},
    ),
    (
        "training-overrides",
        "POST",
        "/api/training/runs/",
        lambda v: {
            "name": "t",
            "dataset_version": v.pk,
            "preset": "cpu_smoke",
            "overrides": {"model": "a\x00"},
        },
    ),
]


@pytest.mark.parametrize(
    ("method", "path", "body"), [c[1:] for c in JSON_NUL_CASES], ids=[c[0] for c in JSON_NUL_CASES]
)
def test_nul_in_json_documents_is_400(api_as, draft_version, method, path, body):
    from webapp.datasets.models import DatasetVersion

    if "training" in path:
        DatasetVersion.objects.filter(pk=draft_version.pk).update(status="built", checksum="a" * 64)
    client = api_as("admin")
    response = _send(client, method, path.format(pk=draft_version.pk), body(draft_version))
    error_of(response, 400)
    draft_version.refresh_from_db()
    assert draft_version.recipe == {}


# ---------------------------------------------------------------------------------- paths

PATH_CASES = [
    "/api/datasets/{v}/manifest.%2e%2e%2f%2e%2e%2fsecret.txt",
    "/api/datasets/{v}/manifest.csv/../../../secret.txt",
    "/api/datasets/{v}/manifest.csv%00.txt",
    "/api/datasets/..%2f..%2fsecret.txt/manifest.csv",
    "/api/exports/1/shards/..%2f..%2fsecret.txt",
    "/api/exports/1/shards/shard-000000.tar%2f..%2f..%2fsecret.txt",
    "/api/exports/1/shards/%2fetc%2fpasswd",
    "/api/slide-tilings/1/mask.png%2f..%2f..%2fsecret.txt",
    "/api/slide-tilings/..%2f1/mask.png",
    "/api/slide-tilings/1/tiles/..%2f..%2fsecret.txt.jpg",
    "/api/slide-tilings/1/tiles/-1.jpg",
    "/api/training/runs/..%2f..%2fsecret.txt/backbone/",
    "/api/training/runs/1/backbone/..%2f..%2fsecret.txt",
    "/api/slides/1/associated/..%2f..%2fsecret.txt/",
    "/api/slides/1/associated/%2e%2e/",
    "/api/slides/1/dzi_files/0/..%2f..%2fsecret.txt",
    "/api/slides/1/dzi_files/../../secret.txt",
]


@pytest.mark.parametrize("path", PATH_CASES)
def test_path_tricks_on_file_endpoints_are_404(api_as, draft_version, data_root, path):
    secret = data_root.parent / "secret.txt"
    secret.parent.mkdir(parents=True, exist_ok=True)
    secret.write_text("TOP-SECRET outside DATA_ROOT")
    (data_root / "secret.txt").parent.mkdir(parents=True, exist_ok=True)
    (data_root / "secret.txt").write_text("TOP-SECRET inside DATA_ROOT")
    response = api_as("admin").get(path.format(v=draft_version.pk))
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert b"TOP-SECRET" not in body
    assert response.status_code == 404, (response.status_code, body[:200])
    assert json.loads(body)["code"] == "not_found"


@pytest.mark.parametrize(
    ("path", "status", "words"),
    [
        ("/etc", 403, ["outside the folders"]),
        ("{allowed}/../..", 403, ["outside the folders"]),
        ("relative/path", 400, ["not an absolute path"]),
        ("{allowed}/missing", 400, ["not an existing folder"]),
        ("{allowed}/a\x00b", 400, ["null characters"]),
    ],
    ids=["absolute-elsewhere", "dot-dot", "relative", "missing", "nul"],
)
def test_slide_root_paths_are_refused(api_as, tmp_path, settings, path, status, words):
    from webapp.slides.models import SlideRoot

    allowed = tmp_path / "allowed"
    allowed.mkdir()
    settings.SLIDE_ROOTS = [allowed]
    response = _send(
        api_as("admin"),
        "POST",
        "/api/slide-roots/",
        {"name": "r", "path": path.format(allowed=allowed)},
    )
    error_of(response, status, *words)
    assert not SlideRoot.objects.exists()
