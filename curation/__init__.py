"""Slide curation as a plain library: discovery and metadata of whole-slide images today;
tissue detection, tiling, colour features, clustering and sampling in later issues.

No Django import here: the web app calls this from Celery tasks, and a notebook can too.
"""

from curation.discovery import SlideCandidate, discover_slides
from curation.fingerprint import fingerprint
from curation.slide_metadata import SlideMetadata, SlideReadError, read_slide_metadata

__all__ = [
    "SlideCandidate",
    "SlideMetadata",
    "SlideReadError",
    "discover_slides",
    "fingerprint",
    "read_slide_metadata",
]
