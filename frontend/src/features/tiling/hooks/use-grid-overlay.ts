import type OpenSeadragon from 'openseadragon';
import { useEffect } from 'react';
import type { TileGrid } from '../api/schemas';
import { gridRectsInView, transformFromPoints, type ImageToScreen } from '../lib/grid-rects';

const STROKE = 'rgba(0, 220, 255, 0.85)';
// Image pixels between the two probe points; large so rounding does not skew the scale.
const PROBE = 10_000;

/** Level-0 image → viewer element pixels for the first image, at its current (animated) position. */
function currentTransform(viewer: OpenSeadragon.Viewer): ImageToScreen | null {
  const item = viewer.world.getItemAt(0);
  if (!item) return null;
  // What viewport.imageToViewerElementCoordinates does, but via the tiled image with
  // `current = true`, so the grid follows the image during animations too.
  const toScreen = (x: number, y: number) => viewer.viewport.pixelFromPoint(item.imageToViewportCoordinates(x, y, true), true);
  return transformFromPoints(toScreen(0, 0), toScreen(PROBE, 0), PROBE);
}

/**
 * Outlines the kept tiles on a canvas laid over the viewer. Only tiles in view are drawn,
 * in one path, at most once per animation frame, so grids of many thousands of tiles pan
 * smoothly; the canvas ignores the pointer so the viewer keeps its gestures.
 */
export function useGridOverlay(viewer: OpenSeadragon.Viewer, grid: TileGrid | null) {
  useEffect(() => {
    if (!grid) return undefined;
    const canvas = document.createElement('canvas');
    canvas.className = 'tiling-grid-overlay';
    canvas.dataset.testid = 'tile-grid-overlay';
    viewer.canvas.appendChild(canvas);
    const coords = { size: grid.size, x: Float64Array.from(grid.x), y: Float64Array.from(grid.y) };
    let frame = 0;

    const draw = () => {
      frame = 0;
      const width = viewer.container.clientWidth;
      const height = viewer.container.clientHeight;
      const ratio = window.devicePixelRatio || 1;
      if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
        canvas.width = Math.round(width * ratio);
        canvas.height = Math.round(height * ratio);
      }
      const ctx = canvas.getContext('2d');
      const transform = currentTransform(viewer);
      if (!ctx || !transform) return;
      ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
      ctx.clearRect(0, 0, width, height);
      const rects = gridRectsInView(coords, transform, width, height);
      ctx.beginPath();
      for (const r of rects) ctx.rect(r.x, r.y, r.w, r.h);
      ctx.strokeStyle = STROKE;
      ctx.lineWidth = 1;
      ctx.stroke();
    };
    const schedule = () => {
      if (!frame) frame = requestAnimationFrame(draw);
    };

    const events = ['update-viewport', 'animation', 'resize', 'open'] as const;
    events.forEach((name) => viewer.addHandler(name, schedule));
    schedule();
    return () => {
      events.forEach((name) => viewer.removeHandler(name, schedule));
      if (frame) cancelAnimationFrame(frame);
      canvas.remove();
    };
  }, [viewer, grid]);
}
