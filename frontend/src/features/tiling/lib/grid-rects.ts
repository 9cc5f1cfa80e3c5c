/**
 * Which tiles of a tile grid are on screen, and where. Pure so it can be unit tested and
 * kept fast: one linear pass over the grid's coordinate arrays, no per-tile calls into
 * OpenSeadragon (tens of thousands of tiles must redraw within one animation frame).
 */

export interface GridCoords {
  /** Tile side in level-0 pixels. */
  size: number;
  /** Level-0 top-left corners of the tiles (same length). */
  x: ArrayLike<number>;
  y: ArrayLike<number>;
}

/** Level-0 image → screen (viewer element) pixels: screen = image × scale + offset. No rotation. */
export interface ImageToScreen {
  scale: number;
  offsetX: number;
  offsetY: number;
}

export interface ScreenRect {
  x: number;
  y: number;
  w: number;
  h: number;
}

/**
 * Screen rectangles of the tiles that intersect a `width` × `height` view. Stops after
 * `limit` rectangles: beyond that the grid is too dense to read anyway.
 */
export function gridRectsInView(grid: GridCoords, transform: ImageToScreen, width: number, height: number, limit = 50_000): ScreenRect[] {
  const { scale, offsetX, offsetY } = transform;
  if (!(scale > 0) || width <= 0 || height <= 0) return [];
  // The view in image coordinates; a tile is visible when its box overlaps it.
  const left = -offsetX / scale;
  const top = -offsetY / scale;
  const right = (width - offsetX) / scale;
  const bottom = (height - offsetY) / scale;
  const size = grid.size;
  const side = size * scale;
  const out: ScreenRect[] = [];
  const n = Math.min(grid.x.length, grid.y.length);
  for (let i = 0; i < n && out.length < limit; i += 1) {
    const x = grid.x[i];
    const y = grid.y[i];
    if (x + size <= left || x >= right || y + size <= top || y >= bottom) continue;
    out.push({ x: x * scale + offsetX, y: y * scale + offsetY, w: side, h: side });
  }
  return out;
}

/** The transform from two image points mapped to the screen (origin and one unit step in x). */
export function transformFromPoints(origin: { x: number; y: number }, step: { x: number; y: number }, stepLength: number): ImageToScreen {
  return { scale: (step.x - origin.x) / stepLength, offsetX: origin.x, offsetY: origin.y };
}
