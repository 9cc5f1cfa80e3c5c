"""Slide curation as a plain library: discovery and metadata of whole-slide images, reading at
a target µm/px, tissue detection, tile grids, colour features and the Parquet tile store;
clustering and sampling in later issues.

No Django import here: the web app calls this from Celery tasks, and a notebook can too.
"""

from curation.discovery import SlideCandidate, discover_slides
from curation.features import FEATURE_NAMES, QUALITY_NAMES, colour_features, quality_signals
from curation.fingerprint import fingerprint
from curation.slide_metadata import SlideMetadata, SlideReadError, read_slide_metadata
from curation.slide_reader import MppUnknownError, SlideReader
from curation.tile_store import tile_dataset
from curation.tiling import TilingConfig, tile_slide, tile_slides
from curation.tissue import TissueParams, detect_tissue

__all__ = [
    "FEATURE_NAMES",
    "QUALITY_NAMES",
    "MppUnknownError",
    "SlideReader",
    "TilingConfig",
    "TissueParams",
    "colour_features",
    "detect_tissue",
    "quality_signals",
    "tile_dataset",
    "tile_slide",
    "tile_slides",
    "SlideCandidate",
    "SlideMetadata",
    "SlideReadError",
    "discover_slides",
    "fingerprint",
    "read_slide_metadata",
]
