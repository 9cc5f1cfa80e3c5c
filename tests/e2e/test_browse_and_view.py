"""End to end in a real browser (Debian's Chromium driven by playwright-core): log in, open
the slide browser, filter, open a slide, see deep-zoom tiles load, zoom, save screenshots."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.live_services import REPO, web_server
from webapp.slides.services import registration, roots

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCRIPT = REPO / "frontend" / "e2e" / "browse-and-view.mjs"
ARTIFACTS = REPO / "test-artifacts" / "e2e"


def _skip_reason() -> str | None:
    if not Path(CHROMIUM).exists():
        return "Chromium is not installed (apt-get install -y chromium); .ci/run installs it"
    if not shutil.which("node"):
        return "Node.js is not installed"
    if not (REPO / "frontend" / "node_modules" / "playwright-core").is_dir():
        return "frontend packages are not installed (npm --prefix frontend ci)"
    if not (REPO / "frontend" / "dist" / "index.html").is_file():
        return "the frontend is not built (npm --prefix frontend run build)"
    return None


@pytest.mark.skipif(_skip_reason() is not None, reason=str(_skip_reason()))
def test_pathologist_browses_and_zooms(make_user, settings, tmp_path, slide_root_dir):
    make_user("pathologist", username="dr-e2e", password="e2e-Secret-passw0rd")
    root = roots.root_create(name="archive", path=str(slide_root_dir))
    registration.scan_run_inline(scan=registration.scan_start(root=root))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    with web_server(settings.DATA_ROOT, tmp_path / "web.log") as url:
        result = subprocess.run(
            ["node", str(SCRIPT)],
            env={
                "PATH": "/usr/bin:/bin:/usr/local/bin",
                "HOME": str(tmp_path),
                "BASE_URL": url,
                "E2E_USERNAME": "dr-e2e",
                "E2E_PASSWORD": "e2e-Secret-passw0rd",
                "E2E_SEARCH": "aperio",
                "SCREENSHOT_DIR": str(ARTIFACTS),
                "CHROMIUM_PATH": CHROMIUM,
            },
            capture_output=True,
            text=True,
            timeout=180,
            cwd=REPO / "frontend",
        )
    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["ok"] and summary["tiles_loaded"] > 0
    assert summary["level_after_zoom"] > summary["level_before_zoom"]
    assert summary["scale_bar"]
    for name in ("browser.png", "viewer.png"):
        assert (ARTIFACTS / name).stat().st_size > 10_000
