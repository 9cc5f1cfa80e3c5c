import shutil

import pytest

from webapp.slides.services import registration, roots


@pytest.fixture
def registered_root(db, slide_root_dir):
    """The archive root, scanned: demo slides (and the real SVS when present) registered."""
    root = roots.root_create(name="archive", path=str(slide_root_dir))
    registration.scan_run_inline(scan=registration.scan_start(root=root))
    return root


@pytest.fixture
def aperio_slide(db, tmp_path, demo_slide_dir):
    """One registered Aperio-style slide (with label and macro) in a root of its own: cheap."""
    folder = tmp_path / "one-slide"
    folder.mkdir()
    shutil.copy(demo_slide_dir / "demo-ihc-aperio.svs", folder)
    root = roots.root_create(name="one", path=str(folder))
    registration.scan_run_inline(scan=registration.scan_start(root=root))
    return root.slides.get()
