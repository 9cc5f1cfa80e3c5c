"""The `rudolfv slides` commands, run as a user would (a subprocess on the test database)."""

import subprocess
import sys

import pytest

from tests.live_services import REPO, process_env
from webapp.slides.models import Slide, SlideRoot, SlideStatus

pytestmark = pytest.mark.django_db(transaction=True)


def rudolfv(*args: str, data_root) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "webapp.cli", *args],
        env=process_env(data_root),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_add_root_and_scan_with_progress(slide_root_dir, settings):
    added = rudolfv(
        "slides", "add-root", str(slide_root_dir), "--name", "archive", data_root=settings.DATA_ROOT
    )
    assert added.returncode == 0, added.stderr
    assert "Added slide root 'archive'" in added.stdout
    assert SlideRoot.objects.get().path == str(slide_root_dir.resolve())

    scanned = rudolfv("slides", "scan", "archive", data_root=settings.DATA_ROOT)
    assert scanned.returncode == 0, scanned.stderr
    registered = Slide.objects.filter(status=SlideStatus.REGISTERED).count()
    assert registered > 0
    assert f"{registered} registered" in scanned.stdout
    total = Slide.objects.count()
    assert f"{total}/{total}" in scanned.stderr  # the progress bar reached the end

    again = rudolfv("slides", "add-root", str(slide_root_dir), data_root=settings.DATA_ROOT)
    assert again.returncode == 1 and "overlaps" in again.stderr


def test_scan_unknown_root_is_a_clear_error(settings):
    result = rudolfv("slides", "scan", "nope", data_root=settings.DATA_ROOT)
    assert result.returncode == 1
    assert "No slide root matches 'nope'" in result.stderr
