/**
 * Scale-bar arithmetic, kept free of OpenSeadragon so it can be unit tested.
 *
 * OpenSeadragon's `viewport.viewportToImageZoom(viewportZoom)` is the number of screen
 * (CSS) pixels per image pixel at full resolution. With `mpp` µm per image pixel:
 *   µm per screen pixel = mpp / imageZoom
 * which equals mpp * imageWidth / (containerWidthPx * viewportZoom) for a single image.
 */
export function micronsPerScreenPixel(mpp: number, imageZoom: number): number {
  if (!(mpp > 0) || !(imageZoom > 0)) return NaN;
  return mpp / imageZoom;
}

/** The same quantity from raw sizes, for callers without a viewport (and for cross-checks). */
export function micronsPerScreenPixelFromSizes(
  mpp: number,
  imageWidthPx: number,
  containerWidthPx: number,
  viewportZoom: number,
): number {
  return micronsPerScreenPixel(mpp, (viewportZoom * containerWidthPx) / imageWidthPx);
}

export interface ScaleBarSpec {
  lengthUm: number;
  widthPx: number;
  label: string;
}

const NICE_STEPS = [5, 2, 1];

/** Drop floating-point noise such as 0.30000000000000004. */
function tidy(value: number): number {
  return Number(value.toPrecision(6));
}

export function formatLength(um: number): string {
  if (um >= 1000) return `${tidy(um / 1000)} mm`;
  return `${tidy(um)} µm`;
}

/**
 * The longest "nice" length (1, 2 or 5 × 10^k µm) whose bar fits in `maxWidthPx`.
 * Returns null when the input makes no sense (unknown mpp, zero zoom).
 */
export function niceScaleBar(umPerPx: number, maxWidthPx = 160): ScaleBarSpec | null {
  if (!Number.isFinite(umPerPx) || umPerPx <= 0 || maxWidthPx <= 0) return null;
  const maxUm = umPerPx * maxWidthPx;
  const magnitude = 10 ** Math.floor(Math.log10(maxUm));
  let lengthUm = magnitude;
  for (const step of NICE_STEPS) {
    if (step * magnitude <= maxUm * (1 + 1e-9)) {
      lengthUm = step * magnitude;
      break;
    }
  }
  lengthUm = tidy(lengthUm);
  return { lengthUm, widthPx: lengthUm / umPerPx, label: formatLength(lengthUm) };
}
