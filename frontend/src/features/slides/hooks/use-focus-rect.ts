import OpenSeadragon from 'openseadragon';
import { useEffect } from 'react';
import { withMargin, type FocusRect } from '../lib/focus';

/**
 * Once the image is open, fit the view to `rect` (level-0 pixels, with some margin) and
 * outline it with an overlay that moves and scales with the image.
 */
export function useFocusRect(viewer: OpenSeadragon.Viewer | null, rect: FocusRect | null) {
  useEffect(() => {
    if (!viewer || !rect) return undefined;
    const box = document.createElement('div');
    box.className = 'viewer-focus-rect';
    box.dataset.testid = 'focus-highlight';
    let added = false;
    const apply = () => {
      const item = viewer.world.getItemAt(0);
      if (!item) return;
      const outline = item.imageToViewportRectangle(new OpenSeadragon.Rect(rect.x, rect.y, rect.width, rect.height));
      const view = withMargin(rect);
      viewer.viewport.fitBounds(item.imageToViewportRectangle(new OpenSeadragon.Rect(view.x, view.y, view.width, view.height)), true);
      viewer.addOverlay({ element: box, location: outline });
      added = true;
    };
    if (viewer.world.getItemCount() > 0) {
      apply();
      return () => {
        if (added) viewer.removeOverlay(box);
      };
    }
    viewer.addOnceHandler('open', apply);
    return () => {
      viewer.removeHandler('open', apply);
      if (added) viewer.removeOverlay(box);
    };
  }, [viewer, rect]);
}
