/**
 * Which labelled tiles are on screen, grouped by look, so the overlay fills each group with
 * one path. The same single linear pass as the tiling grid overlay (features/tiling/lib/grid-rects):
 * no per-tile calls into OpenSeadragon.
 */

/** Level-0 image → screen pixels: screen = image × scale + offset. No rotation. */
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

export interface LabelCoords {
  size: number;
  x: ArrayLike<number>;
  y: ArrayLike<number>;
}

/**
 * Screen rectangles of the tiles that intersect a `width` × `height` view, one array per look
 * (`styleOf[i]` is tile i's look, `groups` how many looks there are). Stops after `limit` tiles.
 * `pad` (level-0 pixels) widens each tile: tile positions are whole pixels while the side may be
 * fractional, so neighbours can leave hairline gaps that a fill would show as light seams.
 */
export function labelRectsInView(
  coords: LabelCoords,
  styleOf: ArrayLike<number>,
  groups: number,
  transform: ImageToScreen,
  width: number,
  height: number,
  limit = 60_000,
  pad = 0,
): ScreenRect[][] {
  const out: ScreenRect[][] = Array.from({ length: groups }, () => []);
  const { scale, offsetX, offsetY } = transform;
  if (!(scale > 0) || width <= 0 || height <= 0) return out;
  const left = -offsetX / scale;
  const top = -offsetY / scale;
  const right = (width - offsetX) / scale;
  const bottom = (height - offsetY) / scale;
  const size = coords.size;
  const side = (size + pad) * scale;
  const n = Math.min(coords.x.length, coords.y.length, styleOf.length);
  let drawn = 0;
  for (let i = 0; i < n && drawn < limit; i += 1) {
    const x = coords.x[i];
    const y = coords.y[i];
    if (x + size <= left || x >= right || y + size <= top || y >= bottom) continue;
    const group = out[styleOf[i]];
    if (!group) continue;
    group.push({ x: x * scale + offsetX, y: y * scale + offsetY, w: side, h: side });
    drawn += 1;
  }
  return out;
}
