import type OpenSeadragon from 'openseadragon';
import { useMemo } from 'react';
import { labelRectsInView } from '@/lib/tile-rects';
import { useOsdCanvasOverlay, type OverlayDraw } from '@/lib/use-osd-canvas-overlay';
import type { SlideLabels } from '../api/schemas';
import { withAlpha, type LabelStyles } from '../lib/colours';

const FILL_ALPHA = 0.35;
/** Level-0 pixels added to each tile so rounding gaps between neighbours do not show as seams. */
const SEAM_PAD = 1;

/** Dark base with light diagonal stripes: rejected tiles must not read as a colour. */
function hatchPattern(ctx: CanvasRenderingContext2D): CanvasPattern | string {
  const tile = document.createElement('canvas');
  tile.width = 8;
  tile.height = 8;
  const t = tile.getContext('2d');
  if (!t) return 'rgba(30, 30, 34, 0.6)';
  t.fillStyle = 'rgba(30, 30, 34, 0.55)';
  t.fillRect(0, 0, 8, 8);
  t.strokeStyle = 'rgba(255, 255, 255, 0.55)';
  t.lineWidth = 1.5;
  t.beginPath();
  t.moveTo(0, 8);
  t.lineTo(8, 0);
  t.moveTo(-2, 2);
  t.lineTo(2, -2);
  t.moveTo(6, 10);
  t.lineTo(10, 6);
  t.stroke();
  return ctx.createPattern(tile, 'repeat') ?? 'rgba(30, 30, 34, 0.6)';
}

/**
 * Fills each labelled tile in its cluster's colour on a canvas over the viewer. Only tiles in
 * view are drawn, one path per colour, at most once per animation frame (the tiling grid
 * overlay's approach); the canvas ignores the pointer so the viewer keeps its gestures.
 */
export function useLabelOverlay(viewer: OpenSeadragon.Viewer, labels: SlideLabels | null, styles: LabelStyles | null) {
  const draw = useMemo<OverlayDraw | null>(() => {
    if (!labels || !styles) return null;
    const coords = { size: labels.size, x: Float64Array.from(labels.x), y: Float64Array.from(labels.y) };
    let hatch: CanvasPattern | string | null = null;
    return (ctx, transform, width, height) => {
      const groups = labelRectsInView(coords, styles.styleOf, styles.looks.length, transform, width, height, 60_000, SEAM_PAD);
      groups.forEach((rects, i) => {
        if (rects.length === 0) return;
        const look = styles.looks[i];
        ctx.beginPath();
        for (const r of rects) ctx.rect(r.x, r.y, r.w, r.h);
        if (look.kind === 'rejected') {
          hatch ??= hatchPattern(ctx);
          ctx.fillStyle = hatch;
        } else {
          ctx.fillStyle = withAlpha(look.kind === 'category' ? look.colour : '#9aa0a6', look.kind === 'category' ? FILL_ALPHA : 0.3);
        }
        ctx.fill();
      });
    };
  }, [labels, styles]);
  useOsdCanvasOverlay(viewer, draw, 'cluster-label-overlay', 'cluster-label-overlay');
}
