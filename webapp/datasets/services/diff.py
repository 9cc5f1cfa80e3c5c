"""Comparing two built versions' manifests (streamed by the library, slide by slide)."""

from curation.manifest import diff_manifests
from webapp.core.errors import ServiceError
from webapp.datasets.models import DatasetVersion, VersionStatus
from webapp.datasets.services.builds import manifest_path


def version_diff(a: DatasetVersion, b: DatasetVersion) -> dict:
    """Tiles and slides added and removed going from `a` to `b`, and the composition of
    each: {tiles_added, tiles_removed, tiles_kept, slides_added, slides_removed, cells}."""
    for version in (a, b):
        if version.status != VersionStatus.BUILT:
            raise ServiceError(
                f"Version {version.pk} is {version.status}; only built versions can be compared.",
                code="not_built",
                status_code=409,
            )
    try:
        return diff_manifests(manifest_path(a, "parquet"), manifest_path(b, "parquet"))
    except (OSError, ValueError) as exc:
        raise ServiceError(
            f"A manifest cannot be read: {exc}", code="file_missing", status_code=409
        ) from exc
