"""Shared fixtures: users per role, generated and real slides, a corpus of bad files, and a
real Celery worker process over the real broker.

The suite runs against PostgreSQL and Redis from the environment, which the test command
(`make test`) provides: embedded servers unless DATABASE_URL / CELERY_BROKER_URL are set.
"""

import itertools
import os
import shutil
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from tests.slide_corpus import REAL_SVS

_cache_versions = itertools.count(int.from_bytes(os.urandom(4), "big"))


@pytest.fixture(autouse=True)
def data_root(settings, tmp_path):
    """Every test writes its files (thumbnails, caches) under its own folder."""
    settings.DATA_ROOT = tmp_path / "data-root"
    settings.SLIDE_ROOTS = []
    return settings.DATA_ROOT


@pytest.fixture(autouse=True)
def _fast_password_hashing(request, settings):
    """Real hashing costs ~0.3 s per user; tests that log in through a separate server
    process (e2e) keep it, since that process verifies with the default hasher."""
    if not request.node.get_closest_marker("e2e"):
        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_caches():
    """Each test starts with no open slide handles and an empty tile cache."""
    from django.core.cache import cache

    from webapp.slides import deepzoom

    # A fresh key version per test instead of FLUSHDB: the cache may share a Redis
    # database with the Celery broker when the environment configures one server for both.
    cache.version = next(_cache_versions)
    yield
    deepzoom.handles.clear()
    deepzoom._sources.clear()


@pytest.fixture
def make_user(db):
    from webapp.accounts.services import user_create

    def make(role: str, username: str | None = None, password: str = "a-Long-test-passw0rd"):
        return user_create(username=username or f"{role}-user", password=password, role=role)

    return make


@pytest.fixture
def api_as(make_user):
    """`api_as("viewer")` → an API client logged in (session) as a new user of that role."""

    def client_for(role: str | None) -> APIClient:
        from webapp.accounts.models import User

        client = APIClient()
        if role:
            # One user per role and test: a second client for the same role logs in as it.
            client.force_login(
                User.objects.filter(username=f"{role}-user").first() or make_user(role)
            )
        return client

    return client_for


@pytest.fixture(scope="session")
def demo_slide_dir(tmp_path_factory) -> Path:
    """The generated demo slides (multi-level pyramidal TIFFs with mpp), made once."""
    from curation.synthetic_slides import make_demo_slides

    folder = tmp_path_factory.mktemp("demo-slides")
    make_demo_slides(folder)
    return folder


@pytest.fixture
def real_svs() -> Path:
    if not REAL_SVS.is_file():
        pytest.skip(f"the real test slide is not here ({REAL_SVS}); ../shared is absent")
    return REAL_SVS


@pytest.fixture
def slide_root_dir(tmp_path, demo_slide_dir) -> Path:
    """A root with the demo slides (in a sub-folder), the real SVS when present, and no junk."""
    root = tmp_path / "archive"
    shutil.copytree(demo_slide_dir, root / "lab_a")
    if REAL_SVS.is_file():
        shutil.copy(REAL_SVS, root / "CMU-1-Small-Region.svs")
    return root
