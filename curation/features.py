"""Hand-made colour features and cheap quality signals of RGB tiles, vectorised over batches.

RudolfV (Dippel et al., 2024) describes each tissue tile by 36 colour features, three
statistics of each channel of four colour spaces, and clusters tiles with k-means on them.
`colour_features` computes them; `quality_signals` adds per-tile signals for later filtering.

Colour spaces (float32 throughout; each matches scikit-image's converter on uint8 input):

- ``rgb``: R, G, B scaled to [0, 1] (``skimage.util.img_as_float``).
- ``lab``: CIE L*a*b* via sRGB linearisation and XYZ under D65 / 2° (``skimage.color.rgb2lab``);
  L in [0, 100], a and b roughly in [-128, 128].
- ``hsv``: hue, saturation, value in [0, 1] (``skimage.color.rgb2hsv``; grey pixels have hue 0
  and black ones saturation 0, as there).
- ``hed``: haematoxylin, eosin, DAB optical densities by Ruifrok–Johnston colour deconvolution
  (``skimage.color.rgb2hed``: OD = log(max(rgb, 1e-6)) / log(1e-6), times ``hed_from_rgb``,
  clipped at 0).

The three statistics are the classic colour moments (Stricker & Orengo, 1995), per tile over all
pixels:

- ``mean``: the mean;
- ``std``: the population standard deviation;
- ``skew``: the signed cube root of the third central moment, in the channel's own units. It
  says on which side the tail lies (a few dark nuclei in pale stroma, a few bright holes in
  dense tissue), which is what a percentile would add, and unlike Fisher's skewness
  (m3 / std³) it does not blow up on flat channels such as blank glass.

Why moments and not percentiles: measured on this project's 2-core machine, an exact
percentile (``np.partition``) costs ~0.8 ms per channel of a 256×256 tile, ~10 ms for 12
channels, i.e. under 100 tiles/s for that statistic alone; a histogram-based one costs ~0.3 ms
per channel and is only approximate. All three moments together cost ~0.05 ms per channel.
Measured single-threaded on that machine (shared, load ~2.5): 300-410 tiles/s of 256×256
tiles for `colour_features` (~2.5 ms per tile, about two thirds of it the colour conversions)
and 700-900 tiles/s for `quality_signals`.

Hue is circular (0 and 1 are the same red), so its statistics are taken on the circle: ``mean``
is the circular mean (the direction of the mean of (cos 2πh, sin 2πh)), in [0, 1); ``std`` and
``skew`` are the moments above of each pixel's hue offset from that circular mean, wrapped
into [-0.5, 0.5]. A tile of reds either side of 0 thus gets a mean near 0 and a small spread,
not a mean of 0.5 and a huge one.

Quality signals (``QUALITY_NAMES``), per tile:

- ``tissue_fraction``: share of pixels that are neither near-white glass nor near-black;
- ``sharpness``: variance of the 4-neighbour Laplacian of the grey image (0–255 scale, as with
  OpenCV's ``Laplacian(...).var()``); low for blurred tiles, and for empty glass;
- ``pen_score``: share of pixels with marker-ink colour: saturated blue or green (hues that H&E
  does not produce), or red with a hue and saturation beyond eosin's pink;
- ``white_score``: share of near-white pixels.

Thresholds were chosen on real H&E tiles (NCT-CRC-HE classes and a tissue / no-tissue / pen
set): tissue tiles score under 1 % pen, the pen tiles 25–70 %.
"""

import numpy as np

SPACES = ("rgb", "lab", "hsv", "hed")
CHANNELS = {
    "rgb": ("r", "g", "b"),
    "lab": ("l", "a", "b"),
    "hsv": ("h", "s", "v"),
    "hed": ("h", "e", "d"),
}
STATS = ("mean", "std", "skew")

FEATURE_NAMES: tuple[str, ...] = tuple(
    f"{space}_{channel}_{stat}" for space in SPACES for channel in CHANNELS[space] for stat in STATS
)
QUALITY_NAMES: tuple[str, ...] = ("tissue_fraction", "sharpness", "pen_score", "white_score")

# Index of the hue plane among the 12 stacked channel planes (rgb 0-2, lab 3-5, hsv 6-8, ...).
_HUE_PLANE = 6

# Upper bound on the pixels converted at once (four 256×256 tiles): 15 float32 planes of
# 2**18 pixels are 16 MB, which measured fastest (2**20: ~15 % slower, 2**22: ~40 %), as the
# working set stays closer to the CPU caches.
_BLOCK_PIXELS = 1 << 18

# --- colour-space constants (as in skimage.color) -------------------------------------------

_XYZ_FROM_RGB = np.array(
    [
        [0.412453, 0.357580, 0.180423],
        [0.212671, 0.715160, 0.072169],
        [0.019334, 0.119193, 0.950227],
    ]
)
_D65_WHITE = np.array([0.95047, 1.0, 1.08883])
# XYZ scaled by the reference white in one matrix: row k gives X/Xn, Y/Yn, Z/Zn.
_XYZN_FROM_LIN = (_XYZ_FROM_RGB / _D65_WHITE[:, None]).astype(np.float32)

_RGB_FROM_HED = np.array([[0.65, 0.70, 0.29], [0.07, 0.99, 0.11], [0.27, 0.57, 0.78]])
_HED_FROM_RGB = np.linalg.inv(_RGB_FROM_HED).astype(np.float32)

# Input is uint8, so every per-channel nonlinearity is a 256-entry lookup table, computed
# once in float64 (exact) instead of a pow / log per pixel.
_LEVELS = np.arange(256, dtype=np.float64) / 255.0
_LUT_UNIT = _LEVELS.astype(np.float32)
_LUT_LINEAR = np.where(
    _LEVELS > 0.04045, ((_LEVELS + 0.055) / 1.055) ** 2.4, _LEVELS / 12.92
).astype(np.float32)
_LUT_OD = (np.log(np.maximum(_LEVELS, 1e-6)) / np.log(1e-6)).astype(np.float32)

# --- quality thresholds ---------------------------------------------------------------------

_WHITE_MIN = 200  # near-white glass: every channel at least this bright ...
_WHITE_CHROMA = 25  # ... and nearly grey (max - min channel at most this)
_BLACK_MAX = 20  # near-black: every channel below this (dense lymphocytes stay above ~16)
_GREY_WEIGHTS = np.array([0.2125, 0.7154, 0.0721], dtype=np.float32)  # skimage rgb2gray


# --- input handling -------------------------------------------------------------------------


def _as_batch(tiles: np.ndarray) -> np.ndarray:
    """`tiles` as an (N, H, W, 3) uint8 array; a single (H, W, 3) tile becomes N = 1."""
    tiles = np.asarray(tiles)
    if tiles.dtype != np.uint8:
        raise TypeError(f"tiles must be uint8 RGB, got dtype {tiles.dtype}")
    if tiles.ndim == 3:
        tiles = tiles[None]
    if tiles.ndim != 4 or tiles.shape[-1] != 3:
        raise ValueError(f"tiles must have shape (N, H, W, 3) or (H, W, 3), got {tiles.shape}")
    return tiles


def _blocks(n: int, pixels_per_tile: int, chunk: int) -> list[slice]:
    """Consecutive tile slices covering range(n): at most `chunk` tiles and (unless one tile
    alone is larger) at most `_BLOCK_PIXELS` pixels each."""
    if chunk < 1:
        raise ValueError(f"chunk must be at least 1, got {chunk}")
    step = max(1, min(chunk, _BLOCK_PIXELS // max(1, pixels_per_tile)))
    return [slice(start, min(start + step, n)) for start in range(0, n, step)]


def _planar(block: np.ndarray) -> np.ndarray:
    """(3, n, P) contiguous uint8 planes of an (n, H, W, 3) block: per-channel work then runs
    on contiguous memory instead of stride-3 views."""
    n = block.shape[0]
    return np.ascontiguousarray(np.moveaxis(block.reshape(n, -1, 3), -1, 0))


# --- colour-space conversions (each writes three (n, P) float32 planes into `out`) ----------


def _rgb(u8: np.ndarray, out: np.ndarray) -> None:
    """R, G, B in [0, 1]."""
    np.take(_LUT_UNIT, u8, out=out, mode="clip")


def _mix(planes: np.ndarray, matrix: np.ndarray, out: np.ndarray) -> None:
    """out[k] = Σ_i matrix[k, i] · planes[i] for (3, n, P) planes: a 3×3 colour transform.

    Plane-wise numpy rather than a (3, 3) @ (3, n·P) BLAS product: that one is ~30 % faster
    alone, but a threaded BLAS on a busy machine made the whole pipeline 3 times slower."""
    for k in range(3):
        np.multiply(planes[0], matrix[k, 0], out=out[k])
        out[k] += matrix[k, 1] * planes[1]
        out[k] += matrix[k, 2] * planes[2]


def _lab(u8: np.ndarray, out: np.ndarray, scratch: np.ndarray) -> None:
    """CIE L*a*b* (D65, 2°) as ``skimage.color.rgb2lab``; `scratch` is a (3, n, P) float32
    buffer."""
    np.take(_LUT_LINEAR, u8, out=scratch, mode="clip")
    _mix(scratch, _XYZN_FROM_LIN, out)  # out = X/Xn, Y/Yn, Z/Zn
    f = scratch
    np.cbrt(out, out=f)
    dark = out <= 0.008856  # the linear toe; rare in stained tissue, so fixed up sparsely
    if dark.any():
        f[dark] = 7.787 * out[dark] + np.float32(16.0 / 116.0)
    fx, fy, fz = f
    np.multiply(fy, np.float32(116.0), out=out[0])
    out[0] -= np.float32(16.0)
    np.subtract(fx, fy, out=out[1])
    out[1] *= np.float32(500.0)
    np.subtract(fy, fz, out=out[2])
    out[2] *= np.float32(200.0)


def _hsv(u8: np.ndarray, rgb: np.ndarray, out: np.ndarray) -> None:
    """Hue, saturation, value in [0, 1] as ``skimage.color.rgb2hsv``, given the uint8 planes
    and their [0, 1] floats `rgb`."""
    r8, g8, b8 = u8
    mx8 = np.maximum(np.maximum(r8, g8), b8)
    grey = mx8 == np.minimum(np.minimum(r8, g8), b8)
    np.take(_LUT_UNIT, mx8, out=out[2], mode="clip")
    r, g, b = rgb
    delta = np.maximum(np.maximum(r, g), b)
    delta -= np.minimum(np.minimum(r, g), b)
    # S = delta / V; V = 0 only where delta = 0, and there S is 0 (skimage's convention).
    np.divide(delta, np.maximum(out[2], np.float32(1e-12)), out=out[1])
    # Hue sector by the channel holding the maximum. On ties skimage lets blue win over green
    # over red (it assigns in that order); the same priority is used here.
    is_b = (b8 == mx8) & ~grey
    is_g = (g8 == mx8) & ~is_b & ~grey
    h = out[0]
    np.subtract(g, b, out=h)  # red sector numerator
    np.copyto(h, b - r, where=is_g)
    np.copyto(h, r - g, where=is_b)
    delta += grey  # grey pixels have numerator 0: divide by 1 instead of 0
    h /= delta
    h += is_g * np.float32(2.0)
    h += is_b * np.float32(4.0)
    h *= np.float32(1.0 / 6.0)
    h += h < 0  # only the red sector goes negative: wrap into [0, 1)


def _hed(u8: np.ndarray, out: np.ndarray, scratch: np.ndarray) -> None:
    """Haematoxylin, eosin, DAB as ``skimage.color.rgb2hed``; `scratch` is (3, n, P) float32."""
    np.take(_LUT_OD, u8, out=scratch, mode="clip")
    _mix(scratch, _HED_FROM_RGB.T, out)  # stains = od_row @ hed_from_rgb
    np.maximum(out, np.float32(0.0), out=out)


def _channel_planes(u8: np.ndarray, planes: np.ndarray, scratch: np.ndarray) -> None:
    """Fill (12, n, P) float32 `planes` with the rgb, lab, hsv, hed channels (FEATURE_NAMES
    order) of (3, n, P) uint8 planes, using the (3, n, P) float32 `scratch`."""
    _rgb(u8, planes[0:3])
    _lab(u8, planes[3:6], scratch)
    _hsv(u8, planes[0:3], planes[6:9])
    _hed(u8, planes[9:12], scratch)


# --- statistics -----------------------------------------------------------------------------


def _circular_mean(hue: np.ndarray, scratch: np.ndarray) -> np.ndarray:
    """Per-row circular mean, in [0, 1), of the hues in [0, 1) of an (n, P) array; `scratch`
    is a (2, n, P) float32 buffer."""
    angle, trig = scratch[0], scratch[1]
    np.multiply(hue, np.float32(2.0 * np.pi), out=angle)
    c = np.cos(angle, out=trig).sum(axis=-1, dtype=np.float32).astype(np.float64)
    s = np.sin(angle, out=trig).sum(axis=-1, dtype=np.float32).astype(np.float64)
    return (np.arctan2(s, c) / (2.0 * np.pi)) % 1.0


def _moments(planes: np.ndarray, scratch: np.ndarray) -> np.ndarray:
    """(12, n, 3) mean, std, skew of (12, n, P) planes. Overwrites `planes` (centred values;
    the hue plane becomes wrapped offsets from its circular mean) and the (≥ 2, n, P)
    `scratch`; neither allocates a new (n, P) array, since fresh large buffers cost page
    faults on every call."""
    n_pixels = planes.shape[-1]
    hue_mean = _circular_mean(planes[_HUE_PLANE], scratch)
    offsets = planes[_HUE_PLANE]
    offsets -= hue_mean[:, None].astype(np.float32)
    offsets -= np.rint(offsets)  # wrap into [-0.5, 0.5]
    # float32 pairwise sums are accurate to ~1e-7 relative here; float64 accumulation
    # (dtype=np.float64) costs 3-4 times as much.
    mean = planes.sum(axis=-1).astype(np.float64) / n_pixels
    # Central moments from centred values: float32 raw power sums would lose the variance of
    # a bright, flat channel to cancellation.
    planes -= mean[..., None].astype(np.float32)
    # Power sums by numpy's pairwise summation: float32 einsum / BLAS dot products accumulate
    # with errors large enough to swamp the third moment of a flat (glass) channel.
    m2 = np.empty_like(mean)
    m3 = np.empty_like(mean)
    power = scratch[0]
    for k, plane in enumerate(planes):
        np.multiply(plane, plane, out=power)
        m2[k] = power.sum(axis=-1) / n_pixels
        power *= plane
        m3[k] = power.sum(axis=-1) / n_pixels
    mean[_HUE_PLANE] = hue_mean
    return np.stack([mean, np.sqrt(np.maximum(m2, 0.0)), np.cbrt(m3)], axis=-1)


# --- public API -----------------------------------------------------------------------------


def colour_features(tiles: np.ndarray, *, chunk: int = 64) -> np.ndarray:
    """(N, 36) float32 colour features, columns as FEATURE_NAMES, of (N, H, W, 3) uint8 RGB
    tiles (a single (H, W, 3) tile gives (1, 36)).

    Works on at most `chunk` tiles (and about a million pixels) at a time, so memory stays
    bounded whatever N is. Raises TypeError for non-uint8 input, ValueError for a bad shape
    or chunk < 1. Tiles of any (equal) size work; N = 0 gives an empty (0, 36) array.
    """
    batch = _as_batch(tiles)
    n, h, w, _ = batch.shape
    result = np.empty((n, len(FEATURE_NAMES)), dtype=np.float32)
    blocks = _blocks(n, h * w, chunk)
    if not blocks:
        return result
    # Flat buffers sized for the first (largest) block and reused by every block; each block
    # views a contiguous prefix, which the in-place matrix products need.
    size = (blocks[0].stop - blocks[0].start) * h * w
    planes_buffer = np.empty(12 * size, dtype=np.float32)
    scratch_buffer = np.empty(3 * size, dtype=np.float32)
    for rows in blocks:
        k = rows.stop - rows.start
        planes = planes_buffer[: 12 * k * h * w].reshape(12, k, h * w)
        scratch = scratch_buffer[: 3 * k * h * w].reshape(3, k, h * w)
        _channel_planes(_planar(batch[rows]), planes, scratch)
        stats = _moments(planes, scratch)  # (12, k, 3)
        result[rows] = np.moveaxis(stats, 1, 0).reshape(k, -1)
    return result


def quality_signals(tiles: np.ndarray, *, chunk: int = 64) -> np.ndarray:
    """(N, 4) float32 quality signals, columns as QUALITY_NAMES, of (N, H, W, 3) uint8 RGB
    tiles (a single tile gives (1, 4)); see the module docstring for their definitions.

    Fractions are in [0, 1]; sharpness is ≥ 0 (0 for tiles under 3×3 pixels). Works on at
    most `chunk` tiles (and about a million pixels) at a time; errors as `colour_features`.
    """
    batch = _as_batch(tiles)
    n, h, w, _ = batch.shape
    result = np.empty((n, len(QUALITY_NAMES)), dtype=np.float32)
    for rows in _blocks(n, h * w, chunk):
        u8 = _planar(batch[rows])
        white, black = _white_black_fractions(u8)
        result[rows, 0] = 1.0 - white - black
        result[rows, 1] = _sharpness(u8, h, w)
        result[rows, 2] = _pen_fraction(u8)
        result[rows, 3] = white
    return result


def _white_black_fractions(u8: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-tile shares of near-white (bright and grey) and near-black pixels of (3, n, P)
    uint8 planes; the two sets are disjoint."""
    mx = np.maximum(np.maximum(u8[0], u8[1]), u8[2])
    mn = np.minimum(np.minimum(u8[0], u8[1]), u8[2])
    white = (mn >= _WHITE_MIN) & (mx - mn <= _WHITE_CHROMA)
    black = mx < _BLACK_MAX
    n_pixels = u8.shape[-1]
    return (
        np.count_nonzero(white, axis=-1) / n_pixels,
        np.count_nonzero(black, axis=-1) / n_pixels,
    )


def _sharpness(u8: np.ndarray, h: int, w: int) -> np.ndarray:
    """Per-tile variance of the 4-neighbour Laplacian of the grey image (0–255 scale) of
    (3, n, H·W) uint8 planes; 0 for tiles too small to have an interior."""
    if h < 3 or w < 3:
        return np.zeros(u8.shape[1])
    grey = _GREY_WEIGHTS[0] * u8[0]
    grey += _GREY_WEIGHTS[1] * u8[1]
    grey += _GREY_WEIGHTS[2] * u8[2]
    grey = grey.reshape(-1, h, w)
    centre = grey[:, 1:-1, 1:-1]
    laplacian = grey[:, :-2, 1:-1] + grey[:, 2:, 1:-1]
    laplacian += grey[:, 1:-1, :-2]
    laplacian += grey[:, 1:-1, 2:]
    laplacian -= 4.0 * centre
    return laplacian.reshape(len(grey), -1).var(axis=-1, dtype=np.float64)


# Marker-ink colours as (hue from, hue to, min saturation, min value) boxes in HSV. H&E gives
# pinks and purples (hue ~0.64–0.97) of moderate saturation; blue and green inks lie outside
# that hue range, and red ink is a truer red (hue within ~0.03 of 0) and more saturated than
# eosin. The value floors keep dark, noisy-hued pixels (dense nuclei) out.
_PEN_BOXES = (
    (0.967, 1.0, 0.45, 0.30),  # red, just below hue 1 ...
    (0.0, 0.05, 0.45, 0.30),  # ... and just above 0
    (0.17, 0.5, 0.30, 0.20),  # green to cyan
    (0.5, 0.7, 0.60, 0.35),  # blue: more saturated than haematoxylin
)


def _pen_fraction(u8: np.ndarray) -> np.ndarray:
    """Per-tile share of marker-ink pixels (any of `_PEN_BOXES`) of (3, n, P) uint8 planes."""
    rgb = np.empty((3, *u8.shape[1:]), dtype=np.float32)
    hsv = np.empty_like(rgb)
    _rgb(u8, rgb)
    _hsv(u8, rgb, hsv)
    hue, sat, val = hsv
    ink = np.zeros(hue.shape, dtype=bool)
    for lo, hi, min_sat, min_val in _PEN_BOXES:
        ink |= (hue >= lo) & (hue < hi) & (sat >= min_sat) & (val >= min_val)
    return np.count_nonzero(ink, axis=-1) / u8.shape[-1]
