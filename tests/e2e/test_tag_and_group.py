"""End to end: a pathologist selects slides, bulk-tags them, defines a group by a rule over
the tags and sees its count, in a real browser against the live server."""

import pytest

from tests.e2e.browser import ARTIFACTS, run_script, skip_reason
from tests.live_services import REPO, web_server
from webapp.audit.models import AuditEvent
from webapp.slides.models import Slide
from webapp.slides.services import registration, roots
from webapp.tagging import starter_vocabulary
from webapp.tagging.models import Category, SlideGroup, SlideTag, Term

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(skip_reason() is not None, reason=str(skip_reason())),
    pytest.mark.skipif(
        not (REPO / "frontend" / "e2e" / "tag-and-group.mjs").exists(),
        reason="frontend/e2e/tag-and-group.mjs is missing",
    ),
]


def test_pathologist_bulk_tags_and_defines_a_group(make_user, settings, tmp_path, slide_root_dir):
    starter_vocabulary.load(Category, Term)  # a transactional test's flush removed it
    make_user("pathologist", username="dr-tags", password="e2e-Secret-passw0rd")
    root = roots.root_create(name="archive", path=str(slide_root_dir))
    registration.scan_run_inline(scan=registration.scan_start(root=root))
    slides = Slide.objects.count()

    with web_server(settings.DATA_ROOT, tmp_path / "web.log") as url:
        summary = run_script(
            "tag-and-group.mjs",
            url,
            tmp_path,
            E2E_USERNAME="dr-tags",
            E2E_PASSWORD="e2e-Secret-passw0rd",
            E2E_TERM="H&E",
            E2E_GROUP="H&E slides",
            E2E_RULE='stain = "H&E"',
            E2E_EXPECTED_COUNT=str(slides),
        )
    assert summary["ok"] and summary["group_count"] == slides
    he = Term.objects.get(category__key="stain", name="H&E")
    assert SlideTag.objects.filter(term=he).count() == slides
    assert SlideGroup.objects.get(name="H&E slides").rule == 'stain = "H&E"'
    assert AuditEvent.objects.filter(action="tag.add", actor_name="dr-tags").count() == slides
    assert AuditEvent.objects.filter(action="group.create").count() == 1
    assert (ARTIFACTS / "groups.png").stat().st_size > 10_000
