import { formatLength, micronsPerScreenPixel, micronsPerScreenPixelFromSizes, niceScaleBar } from './scale-bar';

describe('scale bar math', () => {
  it('µm per screen pixel is mpp divided by screen pixels per image pixel', () => {
    // At 1:1 (one screen pixel per image pixel) a screen pixel spans one image pixel.
    expect(micronsPerScreenPixel(0.5, 1)).toBeCloseTo(0.5);
    // Zoomed out 4×: each screen pixel covers 4 image pixels.
    expect(micronsPerScreenPixel(0.5, 0.25)).toBeCloseTo(2);
    expect(micronsPerScreenPixel(0.25, 2)).toBeCloseTo(0.125);
  });

  it('agrees with the formula from image and container sizes', () => {
    // A 46000 px wide slide fitted into 1000 px (viewport zoom 1): 46 image px per screen px.
    expect(micronsPerScreenPixelFromSizes(0.5, 46000, 1000, 1)).toBeCloseTo(23);
    expect(micronsPerScreenPixelFromSizes(0.5, 46000, 1000, 46)).toBeCloseTo(0.5);
  });

  it('rejects nonsense input', () => {
    expect(micronsPerScreenPixel(0, 1)).toBeNaN();
    expect(niceScaleBar(NaN)).toBeNull();
    expect(niceScaleBar(-1)).toBeNull();
  });

  it('picks the longest 1/2/5 length that fits', () => {
    // 23 µm/px × 160 px = 3680 µm available → 2 mm.
    expect(niceScaleBar(23, 160)).toEqual({ lengthUm: 2000, widthPx: 2000 / 23, label: '2 mm' });
    // 0.5 µm/px × 160 px = 80 µm → 50 µm, 100 px wide.
    expect(niceScaleBar(0.5, 160)).toEqual({ lengthUm: 50, widthPx: 100, label: '50 µm' });
    // 0.125 µm/px × 160 = 20 µm → 20 µm exactly fits.
    expect(niceScaleBar(0.125, 160)?.label).toBe('20 µm');
    // Sub-micron lengths at extreme zoom.
    expect(niceScaleBar(0.003, 160)?.label).toBe('0.2 µm');
  });

  it('never draws a bar wider than allowed and not much shorter than 40% of it', () => {
    for (let umPerPx = 0.01; umPerPx < 500; umPerPx *= 1.37) {
      const spec = niceScaleBar(umPerPx, 150)!;
      expect(spec.widthPx).toBeLessThanOrEqual(150 + 1e-6);
      expect(spec.widthPx).toBeGreaterThanOrEqual(150 * 0.4 - 1e-6);
    }
  });

  it('labels in µm below a millimetre and mm above', () => {
    expect(formatLength(500)).toBe('500 µm');
    expect(formatLength(1000)).toBe('1 mm');
    expect(formatLength(5000)).toBe('5 mm');
    expect(formatLength(0.30000000000000004)).toBe('0.3 µm');
  });
});
