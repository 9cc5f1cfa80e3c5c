/**
 * Which tiles of a level-0 tile grid are on screen, and where. Pure so it can be unit tested and
 * kept fast: one linear pass over the coordinate arrays, no per-tile calls into OpenSeadragon
 * (tens of thousands of tiles must redraw within one animation frame). Used by the tiling grid
 * overlay (one set of rectangles) and the cluster label overlay (one set per look).
 */

export interface TileCoords {
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
 * The one pass: each tile among the first `count` that intersects a `width` × `height` view is
 * handed to `bucketOf(i)`'s array (skipped when that is undefined). Stops after `limit` tiles.
 * `pad` (level-0 pixels) widens each tile.
 */
function collectRectsInView(
  coords: TileCoords,
  transform: ImageToScreen,
  width: number,
  height: number,
  limit: number,
  pad: number,
  count: number,
  bucketOf: (i: number) => ScreenRect[] | undefined,
): void {
  const { scale, offsetX, offsetY } = transform;
  if (!(scale > 0) || width <= 0 || height <= 0) return;
  // The view in image coordinates; a tile is visible when its box overlaps it.
  const left = -offsetX / scale;
  const top = -offsetY / scale;
  const right = (width - offsetX) / scale;
  const bottom = (height - offsetY) / scale;
  const size = coords.size;
  const side = (size + pad) * scale;
  let drawn = 0;
  for (let i = 0; i < count && drawn < limit; i += 1) {
    const x = coords.x[i];
    const y = coords.y[i];
    if (x + size <= left || x >= right || y + size <= top || y >= bottom) continue;
    const bucket = bucketOf(i);
    if (!bucket) continue;
    bucket.push({ x: x * scale + offsetX, y: y * scale + offsetY, w: side, h: side });
    drawn += 1;
  }
}

/**
 * Screen rectangles of the tiles that intersect a `width` × `height` view. Stops after
 * `limit` rectangles: beyond that the grid is too dense to read anyway.
 */
export function gridRectsInView(grid: TileCoords, transform: ImageToScreen, width: number, height: number, limit = 50_000): ScreenRect[] {
  const out: ScreenRect[] = [];
  collectRectsInView(grid, transform, width, height, limit, 0, Math.min(grid.x.length, grid.y.length), () => out);
  return out;
}

/**
 * Screen rectangles of the tiles that intersect a `width` × `height` view, one array per look
 * (`styleOf[i]` is tile i's look, `groups` how many looks there are), so an overlay fills each
 * group with one path. Stops after `limit` tiles.
 * `pad` (level-0 pixels) widens each tile: tile positions are whole pixels while the side may be
 * fractional, so neighbours can leave hairline gaps that a fill would show as light seams.
 */
export function labelRectsInView(
  coords: TileCoords,
  styleOf: ArrayLike<number>,
  groups: number,
  transform: ImageToScreen,
  width: number,
  height: number,
  limit = 60_000,
  pad = 0,
): ScreenRect[][] {
  const out: ScreenRect[][] = Array.from({ length: groups }, () => []);
  const count = Math.min(coords.x.length, coords.y.length, styleOf.length);
  collectRectsInView(coords, transform, width, height, limit, pad, count, (i) => out[styleOf[i]]);
  return out;
}

/** The transform from two image points mapped to the screen (origin and one unit step in x). */
export function transformFromPoints(origin: { x: number; y: number }, step: { x: number; y: number }, stepLength: number): ImageToScreen {
  return { scale: (step.x - origin.x) / stepLength, offsetX: origin.x, offsetY: origin.y };
}
