"""End to end in a real browser (Debian's Chromium driven by playwright-core): log in, open
the slide browser, filter, open a slide, see deep-zoom tiles load, zoom, save screenshots."""

import pytest

from tests.e2e.browser import ARTIFACTS, run_script, skip_reason
from tests.live_services import web_server
from webapp.slides.services import registration, roots

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(skip_reason() is not None, reason=str(skip_reason())),
]


def test_pathologist_browses_and_zooms(make_user, settings, tmp_path, slide_root_dir):
    make_user("pathologist", username="dr-e2e", password="e2e-Secret-passw0rd")
    root = roots.root_create(name="archive", path=str(slide_root_dir))
    registration.scan_run_inline(scan=registration.scan_start(root=root))

    with web_server(settings.DATA_ROOT, tmp_path / "web.log") as url:
        summary = run_script(
            "browse-and-view.mjs",
            url,
            tmp_path,
            E2E_USERNAME="dr-e2e",
            E2E_PASSWORD="e2e-Secret-passw0rd",
            E2E_SEARCH="aperio",
        )
    assert summary["ok"] and summary["tiles_loaded"] > 0
    assert summary["level_after_zoom"] > summary["level_before_zoom"]
    assert summary["scale_bar"]
    assert summary["csp_violations"] == []  # the SPA's policy blocks nothing it needs
    for name in ("browser.png", "viewer.png"):
        assert (ARTIFACTS / name).stat().st_size > 10_000
