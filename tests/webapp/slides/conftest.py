import pytest

from webapp.slides.services import registration, roots


@pytest.fixture
def registered_root(db, slide_root_dir):
    """The archive root, scanned: demo slides (and the real SVS when present) registered."""
    root = roots.root_create(name="archive", path=str(slide_root_dir))
    registration.scan_run_inline(scan=registration.scan_start(root=root))
    return root
