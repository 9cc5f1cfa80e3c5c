/** Map coordinates → SVG pixels, keeping the aspect ratio and a margin; y grows upwards on the map. */
export interface MapScale {
  x: (v: number) => number;
  y: (v: number) => number;
}

export function mapScale(points: Array<{ x: number; y: number }>, width: number, height: number, pad = 10): MapScale {
  if (points.length === 0) return { x: () => width / 2, y: () => height / 2 };
  let minX = Infinity;
  let maxX = -Infinity;
  let minY = Infinity;
  let maxY = -Infinity;
  for (const p of points) {
    if (p.x < minX) minX = p.x;
    if (p.x > maxX) maxX = p.x;
    if (p.y < minY) minY = p.y;
    if (p.y > maxY) maxY = p.y;
  }
  const spanX = maxX - minX || 1;
  const spanY = maxY - minY || 1;
  const scale = Math.min((width - 2 * pad) / spanX, (height - 2 * pad) / spanY);
  const offX = (width - spanX * scale) / 2;
  const offY = (height - spanY * scale) / 2;
  return { x: (v) => offX + (v - minX) * scale, y: (v) => height - offY - (v - minY) * scale };
}
