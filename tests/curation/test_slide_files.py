"""Discovery, fingerprints and metadata on real, generated and broken slide files."""

import shutil
from pathlib import Path

import openslide
import pytest

from curation import SlideReadError, discover_slides, fingerprint, read_slide_metadata
from curation.discovery import stat_candidate
from curation.slide_metadata import slide_images
from tests.slide_corpus import write_bad_corpus


def test_real_aperio_svs_metadata(real_svs):
    meta = read_slide_metadata(real_svs)
    assert meta.vendor == "aperio"
    assert (meta.width, meta.height) == (2220, 2967)
    assert meta.level_count == 1
    assert meta.mpp_x == pytest.approx(0.499, abs=1e-3)
    assert meta.objective_power == 20
    assert {"label", "macro", "thumbnail"} <= set(meta.associated_images)
    assert meta.properties["openslide.vendor"] == "aperio"


def test_generated_slides_are_multilevel_with_mpp(demo_slide_dir):
    slides = sorted(demo_slide_dir.glob("*"))
    assert len(slides) >= 2
    for path in slides:
        meta = read_slide_metadata(path)
        assert meta.level_count > 1, path.name
        assert meta.mpp_x and meta.mpp_x > 0
        assert meta.level_downsamples[0] == 1.0
        assert meta.level_downsamples == sorted(meta.level_downsamples)


def test_slide_images_are_jpegs(real_svs):
    images = slide_images(real_svs)
    assert set(images) >= {"thumbnail", "associated-label", "associated-macro"}
    assert all(data[:3] == b"\xff\xd8\xff" for data in images.values())


def test_bad_files_raise_readable_errors(tmp_path):
    expected = write_bad_corpus(tmp_path / "bad", tmp_path / "outside")
    for rel, reason in expected.items():
        if rel == "escape.svs":
            continue
        with pytest.raises(SlideReadError, match=reason):
            read_slide_metadata(tmp_path / "bad" / rel)
    with pytest.raises(SlideReadError, match="does not exist"):
        read_slide_metadata(tmp_path / "nowhere.svs")


def test_discovery_finds_slides_and_flags_links_out(tmp_path):
    expected = write_bad_corpus(tmp_path / "root", tmp_path / "outside")
    (tmp_path / "root" / ".hidden").mkdir()
    (tmp_path / "root" / ".hidden" / "x.svs").write_bytes(b"x")
    found = {c.relative_path: c for c in discover_slides(tmp_path / "root")}
    assert set(found) == set(expected)  # notes.txt and hidden files are not candidates
    assert "outside the slide root" in found["escape.svs"].problem
    assert not found["random.svs"].problem


def test_discovery_groups_mirax_and_dicom(tmp_path):
    root = tmp_path / "root"
    (root / "case1").mkdir(parents=True)
    (root / "case1" / "slide.mrxs").write_bytes(b"mrxs index")
    (root / "case1" / "slide").mkdir()
    (root / "case1" / "slide" / "Slidedat.ini").write_text("[GENERAL]")
    (root / "case1" / "slide" / "Data0000.dat").write_bytes(b"d" * 100)
    (root / "dicom_case").mkdir()
    for i in range(3):
        (root / "dicom_case" / f"{i}.dcm").write_bytes(b"dcm" * (i + 1))
    found = {c.relative_path: c for c in discover_slides(root)}
    assert set(found) == {"case1/slide.mrxs", "dicom_case"}
    assert found["dicom_case"].open_path.name == "0.dcm"
    size, _ = stat_candidate(found["case1/slide.mrxs"])
    assert size == len(b"mrxs index") + len("[GENERAL]") + 100


def test_fingerprint_survives_rename_and_spots_changes(tmp_path, real_svs):
    copy = tmp_path / "renamed.svs"
    shutil.copy(real_svs, copy)
    assert fingerprint(copy) == fingerprint(real_svs)
    data = bytearray(copy.read_bytes())
    data[len(data) // 2] ^= 0xFF
    copy.write_bytes(bytes(data))
    assert fingerprint(copy) != fingerprint(real_svs)


def test_fingerprint_differs_for_generated_slides(demo_slide_dir):
    prints = {fingerprint(p) for p in demo_slide_dir.glob("*")}
    assert len(prints) == len(list(demo_slide_dir.glob("*")))


def test_openslide_reads_generated_levels(demo_slide_dir):
    path: Path = sorted(demo_slide_dir.glob("*.tif*"))[0]
    slide = openslide.OpenSlide(path)
    assert slide.level_count > 1
    assert float(slide.properties["openslide.mpp-x"]) > 0
