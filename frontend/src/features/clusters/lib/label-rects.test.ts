import { labelRectsInView } from './label-rects';

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
