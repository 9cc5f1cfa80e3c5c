"""Scanning slide roots: registration, bad files, idempotent re-scans, moves, vanished files."""

import os
import shutil

import pytest

from tests.slide_corpus import write_bad_corpus
from webapp.core.errors import ServiceError
from webapp.slides.models import ScanStatus, Slide, SlideStatus
from webapp.slides.services import registration, roots

pytestmark = pytest.mark.django_db


def scan(root):
    return registration.scan_run_inline(scan=registration.scan_start(root=root), chunk_size=2)


def test_scan_registers_good_and_fails_bad_files_and_goes_on(tmp_path, slide_root_dir):
    expected_bad = write_bad_corpus(slide_root_dir / "broken", tmp_path / "outside")
    root = roots.root_create(name="archive", path=str(slide_root_dir))

    job = scan(root)

    good = Slide.objects.filter(status=SlideStatus.REGISTERED)
    assert job.status == ScanStatus.SUCCEEDED
    assert good.count() == len(list(slide_root_dir.glob("lab_a/*"))) + (
        1 if (slide_root_dir / "CMU-1-Small-Region.svs").exists() else 0
    )
    for rel, reason in expected_bad.items():
        slide = Slide.objects.get(relative_path=f"broken/{rel}")
        assert slide.status == SlideStatus.FAILED
        assert reason in slide.failure_reason, (rel, slide.failure_reason)
    assert job.failed == len(expected_bad)
    assert job.registered == good.count()
    assert job.total == job.processed == good.count() + len(expected_bad)
    for slide in good:
        assert slide.level_count >= 1 and slide.width > 0 and slide.mpp_x > 0
        assert len(slide.fingerprint) == 64 and slide.properties["openslide.vendor"]


def test_real_svs_is_registered_with_full_metadata(slide_root_dir, real_svs, data_root):
    root = roots.root_create(name="archive", path=str(slide_root_dir))
    scan(root)
    slide = Slide.objects.get(relative_path="CMU-1-Small-Region.svs")
    assert slide.vendor == "aperio"
    assert (slide.width, slide.height) == (2220, 2967)
    assert slide.objective_power == 20
    assert slide.level_dimensions == [[2220, 2967]]
    assert slide.associated_images == ["label", "macro", "thumbnail"]
    assert slide.size_bytes == real_svs.stat().st_size
    images = data_root / "slide-images" / slide.fingerprint[:2] / slide.fingerprint
    assert {p.name for p in images.iterdir()} >= {"thumbnail.jpg", "associated-label.jpg"}


def test_rescan_is_idempotent(slide_root_dir):
    root = roots.root_create(name="archive", path=str(slide_root_dir))
    first = scan(root)
    before = {s.pk: (s.relative_path, s.updated_at) for s in Slide.objects.all()}

    second = scan(root)

    assert second.unchanged == first.total and second.registered == 0
    after = {s.pk: (s.relative_path, s.updated_at) for s in Slide.objects.all()}
    assert {k: v[0] for k, v in after.items()} == {k: v[0] for k, v in before.items()}


def test_moved_file_keeps_its_identity_and_vanished_is_missing(slide_root_dir):
    root = roots.root_create(name="archive", path=str(slide_root_dir))
    scan(root)
    first, second = sorted(slide_root_dir.glob("lab_a/*"))[:2]
    moved_id = Slide.objects.get(relative_path=f"lab_a/{first.name}").pk
    gone_id = Slide.objects.get(relative_path=f"lab_a/{second.name}").pk
    (slide_root_dir / "lab_b").mkdir()
    shutil.move(first, slide_root_dir / "lab_b" / f"renamed-{first.name}")
    second.unlink()

    job = scan(root)

    moved = Slide.objects.get(pk=moved_id)
    assert moved.relative_path == f"lab_b/renamed-{first.name}"
    assert moved.status == SlideStatus.REGISTERED
    gone = Slide.objects.get(pk=gone_id)
    assert gone.status == SlideStatus.MISSING and "not found" in gone.failure_reason
    assert (job.moved, job.missing) == (1, 1)

    # The vanished file comes back: the same row is registered again, nothing duplicated.
    shutil.copy(slide_root_dir / "lab_b" / f"renamed-{first.name}", second)
    scan(root)
    assert Slide.objects.get(pk=gone_id).status == SlideStatus.REGISTERED
    assert Slide.objects.filter(relative_path=f"lab_a/{second.name}").count() == 1


def test_changed_file_is_read_again(slide_root_dir):
    root = roots.root_create(name="archive", path=str(slide_root_dir))
    scan(root)
    path = sorted(slide_root_dir.glob("lab_a/*"))[0]
    path.write_bytes(b"")  # replaced by an empty file
    job = scan(root)
    slide = Slide.objects.get(relative_path=f"lab_a/{path.name}")
    assert slide.status == SlideStatus.FAILED and "empty" in slide.failure_reason
    assert job.failed == 1


def test_root_paths_are_checked(tmp_path, settings):
    (tmp_path / "allowed" / "a").mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    settings.SLIDE_ROOTS = [tmp_path / "allowed"]
    with pytest.raises(ServiceError, match="outside the folders"):
        roots.root_create(name="x", path=str(tmp_path / "elsewhere"))
    with pytest.raises(ServiceError, match="outside the folders"):
        roots.root_create(name="x", path=str(tmp_path / "allowed" / ".." / "elsewhere"))
    with pytest.raises(ServiceError, match="not an absolute path"):
        roots.root_create(name="x", path="relative/path")
    with pytest.raises(ServiceError, match="not an existing folder"):
        roots.root_create(name="x", path=str(tmp_path / "allowed" / "nope"))
    os.symlink(tmp_path / "elsewhere", tmp_path / "allowed" / "link")
    with pytest.raises(ServiceError, match="outside the folders"):
        roots.root_create(name="x", path=str(tmp_path / "allowed" / "link"))
    roots.root_create(name="a", path=str(tmp_path / "allowed" / "a"))
    with pytest.raises(ServiceError, match="overlaps"):
        roots.root_create(name="b", path=str(tmp_path / "allowed"))


def test_second_active_scan_is_refused(slide_root_dir):
    root = roots.root_create(name="archive", path=str(slide_root_dir))
    registration.scan_start(root=root)
    with pytest.raises(ServiceError) as err:
        registration.scan_start(root=root)
    assert err.value.status_code == 409


def test_scan_of_vanished_root_fails_cleanly(tmp_path):
    folder = tmp_path / "mount"
    folder.mkdir()
    root = roots.root_create(name="mount", path=str(folder))
    folder.rmdir()
    with pytest.raises(ServiceError, match="does not exist"):
        scan(root)
    assert root.scans.get().status == ScanStatus.FAILED


def test_read_only_shared_folder_as_root(real_svs):
    """The shared data folder is read-only: registration writes nothing next to slides."""
    root = roots.root_create(name="shared", path=str(real_svs.parent))
    job = scan(root)
    assert job.status == ScanStatus.SUCCEEDED and job.registered >= 1
    slide = Slide.objects.get(relative_path=real_svs.name)
    assert slide.status == SlideStatus.REGISTERED and slide.vendor == "aperio"
