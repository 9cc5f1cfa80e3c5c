import type OpenSeadragon from 'openseadragon';
import { useMemo } from 'react';
import { gridRectsInView } from '@/lib/tile-rects';
import { useOsdCanvasOverlay, type OverlayDraw } from '@/lib/use-osd-canvas-overlay';
import type { TileGrid } from '../api/schemas';

const STROKE = 'rgba(0, 220, 255, 0.85)';

/**
 * Outlines the kept tiles on a canvas laid over the viewer. Only tiles in view are drawn,
 * in one path, at most once per animation frame, so grids of many thousands of tiles pan
 * smoothly; the canvas ignores the pointer so the viewer keeps its gestures.
 */
export function useGridOverlay(viewer: OpenSeadragon.Viewer, grid: TileGrid | null) {
  const draw = useMemo<OverlayDraw | null>(() => {
    if (!grid) return null;
    const coords = { size: grid.size, x: Float64Array.from(grid.x), y: Float64Array.from(grid.y) };
    return (ctx, transform, width, height) => {
      const rects = gridRectsInView(coords, transform, width, height);
      ctx.beginPath();
      for (const r of rects) ctx.rect(r.x, r.y, r.w, r.h);
      ctx.strokeStyle = STROKE;
      ctx.lineWidth = 1;
      ctx.stroke();
    };
  }, [grid]);
  useOsdCanvasOverlay(viewer, draw, 'tiling-grid-overlay', 'tile-grid-overlay');
}
