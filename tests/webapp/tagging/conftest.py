import pytest

from webapp.slides.models import Slide, SlideRoot, SlideStatus
from webapp.tagging.models import Term


@pytest.fixture(autouse=True)
def vocabulary(db):
    """The starter vocabulary (a data migration; a transactional test's flush removes it)."""
    from webapp.tagging import starter_vocabulary
    from webapp.tagging.models import Category

    starter_vocabulary.load(Category, Term)


@pytest.fixture
def slides(db, tmp_path):
    """Six slide rows in two labs' folders (no files needed for tagging)."""
    root = SlideRoot.objects.create(name="archive", path=str(tmp_path))
    paths = [
        "lab_a/colon-1.svs",
        "lab_a/colon-2.svs",
        "lab_a/lung-1.svs",
        "lab_b/colon-3.svs",
        "lab_b/breast-1.svs",
        "lab_b/skin-1.ndpi",
    ]
    return [
        Slide.objects.create(
            root=root,
            relative_path=p,
            name=p.split("/")[1],
            status=SlideStatus.REGISTERED,
            vendor="aperio",
            properties={"openslide.vendor": "aperio"},
            objective_power=20,
        )
        for p in paths
    ]


@pytest.fixture
def term():
    def get(category: str, name: str) -> Term:
        return Term.objects.get(category__key=category, name=name)

    return get
