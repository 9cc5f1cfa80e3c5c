"""Tests for curation.synthetic_slides: synthetic slides that OpenSlide reads as real ones."""

import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import openslide
import pytest

from curation import synthetic_slides as ss
from curation.synthetic_slides import (
    BACKGROUND,
    BORDER,
    DEMO_SLIDES,
    PEN,
    TISSUE,
    TissueCanvas,
    make_demo_slides,
    write_pyramidal_tiff,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
SPECS = {spec.filename: spec for spec in DEMO_SLIDES}


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("demo")
    make_demo_slides(folder)
    return folder


def _region(path: Path, xy: tuple[int, int], size: int = 256) -> np.ndarray:
    """RGB pixels of a level-0 region centred on ``xy``."""
    with openslide.OpenSlide(str(path)) as slide:
        corner = (xy[0] - size // 2, xy[1] - size // 2)
        return np.asarray(slide.read_region(corner, 0, (size, size)).convert("RGB"))


# -- demo slides --------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SPECS))
def test_demo_slide_opens_as_multilevel_slide(demo_dir: Path, name: str) -> None:
    spec = SPECS[name]
    with openslide.OpenSlide(str(demo_dir / name)) as slide:
        props = slide.properties
        assert props[openslide.PROPERTY_NAME_VENDOR] == spec.vendor
        assert slide.dimensions == (spec.width, spec.height)
        assert slide.level_count > 1
        dims = slide.level_dimensions
        assert all(a[0] > b[0] and a[1] > b[1] for a, b in zip(dims, dims[1:], strict=False))
        assert max(dims[-1]) <= 256
        assert float(props[openslide.PROPERTY_NAME_MPP_X]) == pytest.approx(spec.mpp)
        assert float(props[openslide.PROPERTY_NAME_MPP_Y]) == pytest.approx(spec.mpp)


def test_aperio_demo_has_vendor_metadata_and_associated_images(demo_dir: Path) -> None:
    spec = SPECS["demo-ihc-aperio.svs"]
    with openslide.OpenSlide(str(demo_dir / spec.filename)) as slide:
        props = slide.properties
        assert props[openslide.PROPERTY_NAME_OBJECTIVE_POWER] == "40"
        assert props["aperio.AppMag"] == "40"
        assert set(slide.associated_images) == {"label", "macro", "thumbnail"}
        label = np.asarray(slide.associated_images["label"].convert("L"))
        macro = slide.associated_images["macro"]
        thumbnail = slide.associated_images["thumbnail"]
    assert label.min() < 50 and np.median(label) > 200  # dark text/barcode on white paper
    assert macro.width > macro.height
    assert max(thumbnail.size) == 1024


@pytest.mark.parametrize("name", sorted(SPECS))
def test_demo_slide_shows_tissue_and_glass(demo_dir: Path, name: str) -> None:
    spec = SPECS[name]
    canvas = TissueCanvas(spec.width, spec.height, spec.seed)
    tissue = _region(demo_dir / name, canvas.tissue_point(0))
    glass = _region(demo_dir / name, canvas.background_point())
    assert tissue.std() > 20
    assert tissue.mean() < 215
    assert glass.mean() > 235
    assert glass.std() < 5


def test_make_demo_slides_skips_valid_files_and_repairs_broken_ones(demo_dir: Path) -> None:
    paths = make_demo_slides(demo_dir)
    assert [p.name for p in paths] == [spec.filename for spec in DEMO_SLIDES]
    before = {p: p.stat().st_mtime_ns for p in paths}
    assert make_demo_slides(demo_dir) == paths
    assert {p: p.stat().st_mtime_ns for p in paths} == before

    broken = demo_dir / "demo-ihc-small.tiff"
    original = broken.read_bytes()
    broken.write_bytes(original[: len(original) // 2])
    make_demo_slides(demo_dir)
    assert broken.read_bytes() == original  # rewritten, and generation is deterministic
    assert sorted(p.name for p in demo_dir.iterdir()) == sorted(SPECS)  # no temp files


def test_demo_slides_are_small(demo_dir: Path) -> None:
    total = sum((demo_dir / name).stat().st_size for name in SPECS)
    assert total < 60 * 2**20


# -- tissue canvas ------------------------------------------------------------------------


def test_canvas_is_deterministic_and_independent_of_tiling() -> None:
    a = TissueCanvas(3000, 2000, seed=7)
    b = TissueCanvas(3000, 2000, seed=7)
    other = TissueCanvas(3000, 2000, seed=8)
    x, y = a.tissue_point(1)
    big = a.tile(x - 300, y - 300, 600, 600)
    assert np.array_equal(big, b.tile(x - 300, y - 300, 600, 600))
    assert np.array_equal(big[200:456, 100:356], a.tile(x - 200, y - 100, 256, 256))
    assert not np.array_equal(big, other.tile(x - 300, y - 300, 600, 600))


def test_canvas_has_background_tissue_and_artefacts() -> None:
    canvas = TissueCanvas(2000, 1500, seed=3)
    labels = canvas.labels(0, 0, 2000, 1500)
    pixels = canvas.tile(0, 0, 2000, 1500)
    counts = {k: int((labels == k).sum()) for k in (BACKGROUND, TISSUE, BORDER, PEN)}
    assert all(counts.values()), counts
    assert 0.1 < counts[TISSUE] / labels.size < 0.6
    assert pixels[labels == BACKGROUND].mean() > 235
    assert pixels[labels == BORDER].mean() < 60
    assert pixels[labels == TISSUE].mean() < 215
    pen = pixels[labels == PEN].astype(int)
    assert pen.mean() < 150


def test_canvas_without_artefacts() -> None:
    canvas = TissueCanvas(1000, 800, seed=1, sections=2, border=False, pen_mark=False)
    labels = canvas.labels(0, 0, 1000, 800)
    assert set(np.unique(labels)) == {BACKGROUND, TISSUE}


def test_ihc_texture_needs_no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    ss.ihc_texture.cache_clear()
    texture = ss.ihc_texture()
    assert texture.shape == (512, 512, 3) and texture.dtype == np.uint8


# -- writer -------------------------------------------------------------------------------


def _write_small(path: Path, seed: int = 4, **kwargs: object) -> Path:
    canvas = TissueCanvas(1500, 1000, seed)
    return write_pyramidal_tiff(path, canvas, width=1500, height=1000, mpp=0.5, **kwargs)


def test_same_seed_gives_identical_files(tmp_path: Path) -> None:
    a = _write_small(tmp_path / "a.tiff")
    b = _write_small(tmp_path / "b.tiff")
    c = _write_small(tmp_path / "c.tiff", seed=5)
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()


def test_array_source_round_trips_losslessly(tmp_path: Path) -> None:
    image = TissueCanvas(700, 500, seed=2).tile(0, 0, 700, 500)
    path = write_pyramidal_tiff(
        tmp_path / "x.tif", image, width=700, height=500, mpp=1.0, compression="zlib"
    )
    with openslide.OpenSlide(str(path)) as slide:
        assert slide.level_dimensions == ((700, 500), (350, 250), (175, 125))
        back = np.asarray(slide.read_region((0, 0), 0, (700, 500)).convert("RGB"))
    assert np.array_equal(back, image)


def test_aperio_with_other_compression_and_explicit_power(tmp_path: Path) -> None:
    path = _write_small(
        tmp_path / "z.svs",
        aperio=True,
        compression="lzw",
        objective_power=20,
        associated={"label": ss.render_label_image("Z-1")},
    )
    with openslide.OpenSlide(str(path)) as slide:
        assert slide.properties[openslide.PROPERTY_NAME_VENDOR] == "aperio"
        assert slide.properties[openslide.PROPERTY_NAME_OBJECTIVE_POWER] == "20"
        assert set(slide.associated_images) == {"label", "thumbnail"}


def test_write_leaves_no_temporary_file(tmp_path: Path) -> None:
    path = _write_small(tmp_path / "sub" / "slide.tiff")
    assert [p.name for p in path.parent.iterdir()] == ["slide.tiff"]
    assert path.stat().st_mode & 0o777 == 0o644


def test_failure_mid_write_leaves_no_file(tmp_path: Path) -> None:
    canvas = TissueCanvas(2000, 2000, seed=1)
    calls = 0

    def failing(x: int, y: int, w: int, h: int) -> np.ndarray:
        nonlocal calls
        calls += 1
        if calls > 30:
            raise RuntimeError("disk on fire")
        return canvas.tile(x, y, w, h)

    target = tmp_path / "slide.tiff"
    with pytest.raises(RuntimeError, match="disk on fire"):
        write_pyramidal_tiff(target, failing, width=2000, height=2000, mpp=0.5)
    assert list(tmp_path.iterdir()) == []

    # An existing file survives a failed rewrite untouched.
    target.write_bytes(b"previous")
    calls = 0
    with pytest.raises(RuntimeError):
        write_pyramidal_tiff(target, failing, width=2000, height=2000, mpp=0.5)
    assert target.read_bytes() == b"previous"
    assert list(tmp_path.iterdir()) == [target]


def test_bad_arguments_are_refused_before_writing(tmp_path: Path) -> None:
    image = np.zeros((64, 64, 3), np.uint8)
    label = np.zeros((10, 10, 3), np.uint8)
    bad = [
        {"associated": {"label": label}},  # needs aperio
        {"objective_power": 20},  # needs aperio
        {"compression": "webp"},
        {"quality": 0},
        {"tile_size": 100},
        {"mpp": 0},
        {"aperio": True, "associated": {"thumbnail": label}},
        {"aperio": True, "associated": {"label": np.zeros((10, 10), np.uint8)}},
        {"description": "Aperio fake"},
    ]
    for kwargs in bad:
        options = {"width": 64, "height": 64, "mpp": 0.5, **kwargs}
        with pytest.raises(ValueError):
            write_pyramidal_tiff(tmp_path / "x.tiff", image, **options)
    with pytest.raises(ValueError):
        write_pyramidal_tiff(tmp_path / "x.tiff", image, width=65, height=64, mpp=0.5)
    assert list(tmp_path.iterdir()) == []


_MEMORY_SCRIPT = textwrap.dedent(
    """
    import resource, sys
    import numpy as np
    import openslide
    from curation.synthetic_slides import TissueCanvas, write_pyramidal_tiff

    size, path = int(sys.argv[1]), sys.argv[2]
    # A cheap but realistic source: slices of one rendered tissue patch, so the test
    # measures the writer's streaming rather than the canvas renderer's speed.
    canvas = TissueCanvas(4000, 4000, seed=1)
    x, y = canvas.tissue_point(0)
    patch = canvas.tile(x - 400, y - 400, 800, 800)
    def source(x, y, w, h):
        return patch[y % 512 : y % 512 + h, x % 512 : x % 512 + w]
    source(0, 0, 256, 256)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    write_pyramidal_tiff(path, source, width=size, height=size, mpp=0.5, maxworkers=2)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with openslide.OpenSlide(path) as slide:
        print(slide.level_count, slide.dimensions[0], (after - before) // 1024)
    """
)


def test_large_slide_is_written_in_bounded_memory(tmp_path: Path) -> None:
    """20,000 x 20,000 px (1.2 GB of raw level 0) with well under 300 MB of RSS growth."""
    size = 20_000
    out = tmp_path / "big.tiff"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", _MEMORY_SCRIPT, str(size), str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    levels, width, growth_mb = map(int, result.stdout.split())
    assert (levels, width) == (8, size)
    assert growth_mb < 300, f"peak RSS grew by {growth_mb} MB"
    assert [p.name for p in tmp_path.iterdir()] == ["big.tiff"]  # spill files removed


def test_level_step_four_stores_levels_like_a_scanner(tmp_path):
    import openslide

    from curation.synthetic_slides import TissueCanvas, write_pyramidal_tiff

    path = write_pyramidal_tiff(
        tmp_path / "scanner-like.svs",
        TissueCanvas(4096, 3072, seed=1),
        width=4096,
        height=3072,
        mpp=0.25,
        aperio=True,
        level_step=4,
    )
    slide = openslide.OpenSlide(path)
    assert [round(d) for d in slide.level_downsamples] == [1, 4, 16]
    assert slide.properties["openslide.vendor"] == "aperio"
    with pytest.raises(ValueError, match="level_step"):
        write_pyramidal_tiff(
            tmp_path / "x.tif", TissueCanvas(512, 512), width=512, height=512, mpp=0.5, level_step=3
        )
    assert not (tmp_path / "x.tif").exists()
