"""Real tile-store files for the clustering tests, made once per session by the real tiler.

The three generated demo slides (real IHC tissue texture on glass, with pen and border
artefacts) and, when ../shared is present, the real H&E CMU-1 excerpt are tiled with
`tile_slide` at 64 px and 0.5 µm/px: about 3,400 tiles with the 36 colour features and the
quality signals the tiler computes. Embeddings for kind "embedding" are a fixed random
non-linear map of the standardised colour features (float16, rows aligned with the tiles).
"""

import hashlib
import shutil
from pathlib import Path

import numpy as np

from curation.cluster_features import SlideSource, read_colour
from curation.synthetic_slides import make_demo_slides
from curation.tiling import TilingConfig, tile_slide
from tests.slide_corpus import REAL_SVS

CONFIG = TilingConfig(tile_size=64, target_mpp=0.5, min_tissue_fraction=0.5)
EMBEDDING_DIM = 24
_cache: dict[str, list[SlideSource]] = {}


def _fingerprint(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()


def _write_embeddings(tile_path: Path, out: Path) -> Path:
    features = read_colour(tile_path)
    z = (features - features.mean(axis=0)) / (features.std(axis=0) + 1e-3)
    projection = np.random.default_rng(42).normal(size=(features.shape[1], EMBEDDING_DIM))
    np.save(out, np.tanh(z @ projection / 6.0).astype(np.float16))
    return out


def tiled_sources(root: Path, demo_slide_dir: Path) -> list[SlideSource]:
    """SlideSources (with embeddings) of the slides in `demo_slide_dir` (the conftest's
    session fixture) and the real SVS, tiled under `root` on first use in the session."""
    if "sources" in _cache:
        return _cache["sources"]
    slides = make_demo_slides(demo_slide_dir)  # already there: only checks them
    if REAL_SVS.is_file():
        slides.append(REAL_SVS)
    sources = []
    for index, slide in enumerate(slides):
        fingerprint = _fingerprint(slide.name)
        tile_path = root / "tiles" / fingerprint[:2] / f"{fingerprint}.parquet"
        tile_path.parent.mkdir(parents=True, exist_ok=True)
        tile_slide(slide, tile_path, CONFIG)
        embedding = _write_embeddings(tile_path, tile_path.with_suffix(".npy"))
        sources.append(SlideSource(index, 1000 + index, fingerprint, tile_path, embedding))
    _cache["sources"] = sources
    return sources


def copy_source(source: SlideSource, folder: Path, slide_index: int, name: str) -> SlideSource:
    """A copy of `source`'s files under `folder` as another slide (its own fingerprint)."""
    fingerprint = _fingerprint(name)
    folder.mkdir(parents=True, exist_ok=True)
    tile_path = shutil.copy(source.tile_path, folder / f"{fingerprint}.parquet")
    embedding = shutil.copy(source.embedding_path, folder / f"{fingerprint}.npy")
    return SlideSource(
        slide_index, 5000 + slide_index, fingerprint, Path(tile_path), Path(embedding)
    )
