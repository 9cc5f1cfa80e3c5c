/**
 * "Show me this place": `?x=&y=&size=` (level-0 pixels, top-left corner and side of a square,
 * e.g. a tile) opens the viewer zoomed to that square, outlined. Pure so it can be tested.
 */
export interface FocusRect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export function parseFocus(params: URLSearchParams): FocusRect | null {
  const read = (name: string) => {
    const raw = params.get(name);
    if (raw === null || raw.trim() === '') return NaN;
    return Number(raw);
  };
  const x = read('x');
  const y = read('y');
  const size = read('size');
  if (![x, y, size].every(Number.isFinite) || size <= 0) return null;
  return { x, y, width: size, height: size };
}

/** The rectangle with `margin` × its size added on every side, so the square sits in context. */
export function withMargin(rect: FocusRect, margin = 0.75): FocusRect {
  const dx = rect.width * margin;
  const dy = rect.height * margin;
  return { x: rect.x - dx, y: rect.y - dy, width: rect.width + 2 * dx, height: rect.height + 2 * dy };
}
