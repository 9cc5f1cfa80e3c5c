import type OpenSeadragon from 'openseadragon';
import { useEffect } from 'react';
import { onceOpen } from './once-open';

/**
 * Draws the tissue mask PNG over the whole slide. The PNG covers the full level-0 extent at
 * a lower resolution, so stretching it over the image's bounds lines it up; OpenSeadragon
 * then moves and scales it with the image. CSS (`.tiling-mask-overlay`) tints it.
 */
export function useMaskOverlay(viewer: OpenSeadragon.Viewer, url: string | null) {
  useEffect(() => {
    if (!url) return undefined;
    const img = document.createElement('img');
    img.src = url;
    img.alt = 'Tissue mask';
    img.className = 'tiling-mask-overlay';
    img.dataset.testid = 'tissue-mask-overlay';
    let added = false;
    const stop = onceOpen(viewer, () => {
      const item = viewer.world.getItemAt(0);
      if (!item) return;
      viewer.addOverlay({ element: img, location: item.getBounds() });
      added = true;
    });
    return () => {
      stop();
      if (added) viewer.removeOverlay(img);
    };
  }, [viewer, url]);
}
