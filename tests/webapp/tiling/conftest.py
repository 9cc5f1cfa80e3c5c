import numpy as np
import pytest
import tifffile


@pytest.fixture
def no_mpp_slide(tmp_path):
    """A tiled two-level TIFF without resolution tags or objective power: no mpp at all."""
    from curation.synthetic_slides import TissueCanvas

    path = tmp_path / "no-mpp" / "unknown-scale.tiff"
    path.parent.mkdir()
    canvas = TissueCanvas(1024, 768, seed=5)
    base = canvas.tile(0, 0, 1024, 768)
    with tifffile.TiffWriter(path) as tw:
        tw.write(base, tile=(256, 256), photometric="rgb", compression="zlib", metadata=None)
        tw.write(
            np.ascontiguousarray(base[::2, ::2]),
            tile=(256, 256),
            photometric="rgb",
            compression="zlib",
            subfiletype=1,
            metadata=None,
        )
    return path


@pytest.fixture
def tiling_config(db):
    from webapp.tiling.services import config_create

    # Small tiles at a coarse resolution keep the tests quick on two cores.
    return config_create(
        name="quick", params={"tile_size": 128, "target_mpp": 2.0, "min_tissue_fraction": 0.5}
    )
