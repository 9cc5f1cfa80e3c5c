import type OpenSeadragon from 'openseadragon';

/** Run `fn` now if the viewer has its image, else when it opens. Returns an unsubscribe. */
export function onceOpen(viewer: OpenSeadragon.Viewer, fn: () => void): () => void {
  if (viewer.world.getItemCount() > 0) {
    fn();
    return () => undefined;
  }
  const handler = () => fn();
  viewer.addOnceHandler('open', handler);
  return () => viewer.removeHandler('open', handler);
}
