"""The per-process LRU of open slides."""

from webapp.slides.deepzoom import SlideHandleCache, TileGeometry

GEOMETRY = TileGeometry(254, 1, 80)


def test_lru_reuses_evicts_and_closes(demo_slide_dir):
    paths = sorted(str(p) for p in demo_slide_dir.iterdir())
    cache = SlideHandleCache(capacity=2)
    first = cache.get(paths[0], "fp0", GEOMETRY)
    assert cache.get(paths[0], "fp0", GEOMETRY) is first  # reused, not reopened
    cache.get(paths[1], "fp1", GEOMETRY)
    cache.get(paths[0], "fp0", GEOMETRY)  # touch: paths[1] is now the oldest
    cache.get(paths[2], "fp2", GEOMETRY)
    assert cache.get(paths[0], "fp0", GEOMETRY) is first
    assert cache.get(paths[1], "fp1", GEOMETRY) is not None  # reopened after eviction
    assert len(cache._items) == 2


def test_changed_fingerprint_opens_anew_and_discard_forgets(demo_slide_dir):
    path = str(sorted(demo_slide_dir.iterdir())[0])
    cache = SlideHandleCache(capacity=4)
    old = cache.get(path, "old", GEOMETRY)
    assert cache.get(path, "new", GEOMETRY) is not old
    cache.discard(path)
    assert not cache._items
