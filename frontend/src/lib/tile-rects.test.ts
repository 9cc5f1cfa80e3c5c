import { gridRectsInView, labelRectsInView, transformFromPoints } from './tile-rects';

const grid = {
  size: 256,
  // A 4 × 3 grid of 256-px tiles starting at (1000, 2000).
  x: [1000, 1256, 1512, 1768, 1000, 1256, 1512, 1768, 1000, 1256, 1512, 1768],
  y: [2000, 2000, 2000, 2000, 2256, 2256, 2256, 2256, 2512, 2512, 2512, 2512],
};

describe('gridRectsInView', () => {
  it('maps every tile to screen pixels when the whole grid is in view', () => {
    const rects = gridRectsInView(grid, { scale: 0.1, offsetX: 5, offsetY: 7 }, 1000, 1000);
    expect(rects).toHaveLength(12);
    expect(rects[0]).toEqual({ x: 105, y: 207, w: 25.6, h: 25.6 });
    expect(rects[11].x).toBeCloseTo(181.8);
    expect(rects[11].y).toBeCloseTo(258.2);
  });

  it('keeps only tiles that overlap the view', () => {
    // Scale 1, view shows image x 1300..1700, y 2100..2300: columns 1256 and 1512, rows 2000 and 2256.
    const rects = gridRectsInView(grid, { scale: 1, offsetX: -1300, offsetY: -2100 }, 400, 200);
    expect(rects.map((r) => [r.x + 1300, r.y + 2100])).toEqual([
      [1256, 2000],
      [1512, 2000],
      [1256, 2256],
      [1512, 2256],
    ]);
  });

  it('treats touching edges as outside', () => {
    // View starts exactly where the first column ends.
    const rects = gridRectsInView(grid, { scale: 1, offsetX: -1256, offsetY: -2000 }, 256, 256);
    expect(rects).toEqual([{ x: 0, y: 0, w: 256, h: 256 }]);
  });

  it('returns nothing for an empty view, a view beside the grid or a bad scale', () => {
    expect(gridRectsInView(grid, { scale: 1, offsetX: 0, offsetY: 0 }, 0, 100)).toEqual([]);
    expect(gridRectsInView(grid, { scale: 1, offsetX: 0, offsetY: 0 }, 900, 900)).toEqual([]);
    expect(gridRectsInView(grid, { scale: 0, offsetX: 0, offsetY: 0 }, 900, 900)).toEqual([]);
  });

  it('stops at the limit on large grids', () => {
    const n = 200_000;
    const big = { size: 10, x: new Float64Array(n), y: new Float64Array(n) };
    for (let i = 0; i < n; i += 1) {
      big.x[i] = (i % 1000) * 10;
      big.y[i] = Math.floor(i / 1000) * 10;
    }
    const visible = gridRectsInView(big, { scale: 1, offsetX: 0, offsetY: 0 }, 100, 100);
    expect(visible).toHaveLength(100);
    expect(gridRectsInView(big, { scale: 0.01, offsetX: 0, offsetY: 0 }, 1000, 1000, 500)).toHaveLength(500);
  });
});

describe('transformFromPoints', () => {
  it('derives scale and offset from two mapped points', () => {
    expect(transformFromPoints({ x: 10, y: 20 }, { x: 60, y: 20 }, 1000)).toEqual({ scale: 0.05, offsetX: 10, offsetY: 20 });
  });
});

describe('labelRectsInView', () => {
  const coords = { size: 100, x: [0, 100, 1000, 5000], y: [0, 0, 1000, 5000] };
  const styleOf = [0, 1, 0, 1];

  it('returns the visible tiles, grouped by look, in screen pixels', () => {
    const groups = labelRectsInView(coords, styleOf, 2, { scale: 0.5, offsetX: 10, offsetY: 20 }, 800, 600);
    expect(groups).toEqual([
      [
        { x: 10, y: 20, w: 50, h: 50 },
        { x: 510, y: 520, w: 50, h: 50 },
      ],
      [{ x: 60, y: 20, w: 50, h: 50 }],
    ]);
  });

  it('leaves out tiles outside the view and stops at the limit', () => {
    const groups = labelRectsInView(coords, styleOf, 2, { scale: 1, offsetX: -250, offsetY: 0 }, 300, 300);
    expect(groups.flat()).toEqual([]);
    const limited = labelRectsInView(coords, styleOf, 2, { scale: 0.1, offsetX: 0, offsetY: 0 }, 1000, 1000, 2);
    expect(limited.flat()).toHaveLength(2);
  });

  it('widens each tile by the padding', () => {
    const groups = labelRectsInView(coords, styleOf, 2, { scale: 0.5, offsetX: 0, offsetY: 0 }, 100, 100, 10, 1);
    expect(groups[0]).toEqual([{ x: 0, y: 0, w: 50.5, h: 50.5 }]);
  });

  it('draws nothing without a usable transform or view', () => {
    expect(labelRectsInView(coords, styleOf, 2, { scale: 0, offsetX: 0, offsetY: 0 }, 100, 100)).toEqual([[], []]);
    expect(labelRectsInView(coords, styleOf, 2, { scale: 1, offsetX: 0, offsetY: 0 }, 0, 100)).toEqual([[], []]);
  });
});
