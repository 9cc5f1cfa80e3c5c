import type OpenSeadragon from 'openseadragon';
import { useEffect } from 'react';
import { transformFromPoints, type ImageToScreen } from './tile-rects';

// Image pixels between the two probe points; large so rounding does not skew the scale.
const PROBE = 10_000;

/** Level-0 image → viewer element pixels for the first image, at its current (animated) position. */
function currentTransform(viewer: OpenSeadragon.Viewer): ImageToScreen | null {
  const item = viewer.world.getItemAt(0);
  if (!item) return null;
  // What viewport.imageToViewerElementCoordinates does, but via the tiled image with
  // `current = true`, so the overlay follows the image during animations too.
  const toScreen = (x: number, y: number) => viewer.viewport.pixelFromPoint(item.imageToViewportCoordinates(x, y, true), true);
  return transformFromPoints(toScreen(0, 0), toScreen(PROBE, 0), PROBE);
}

/**
 * Paints one frame on a cleared canvas in CSS pixels (the device pixel ratio is already applied):
 * `transform` maps level-0 image pixels to the canvas, which is `width` × `height`.
 */
export type OverlayDraw = (ctx: CanvasRenderingContext2D, transform: ImageToScreen, width: number, height: number) => void;

/**
 * A canvas laid over an OpenSeadragon viewer, redrawn by `draw` at most once per animation frame
 * whenever the viewport changes (pan, zoom, animation, resize, open). The canvas ignores the
 * pointer (by its CSS class) so the viewer keeps its gestures. `draw` null: no canvas. Keep
 * `draw` stable (useMemo/useCallback): a new one replaces the canvas.
 */
export function useOsdCanvasOverlay(viewer: OpenSeadragon.Viewer, draw: OverlayDraw | null, className: string, testId: string) {
  useEffect(() => {
    if (!draw) return undefined;
    const canvas = document.createElement('canvas');
    canvas.className = className;
    canvas.dataset.testid = testId;
    viewer.canvas.appendChild(canvas);
    let frame = 0;

    const redraw = () => {
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
      draw(ctx, transform, width, height);
    };
    const schedule = () => {
      if (!frame) frame = requestAnimationFrame(redraw);
    };

    const events = ['update-viewport', 'animation', 'resize', 'open'] as const;
    events.forEach((name) => viewer.addHandler(name, schedule));
    schedule();
    return () => {
      events.forEach((name) => viewer.removeHandler(name, schedule));
      if (frame) cancelAnimationFrame(frame);
      canvas.remove();
    };
  }, [viewer, draw, className, testId]);
}
