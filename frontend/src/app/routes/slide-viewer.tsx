import { canCurate, useCurrentUser } from '@/features/auth';
import { SlideViewerPage } from '@/features/slides/viewer';
import { TilingOverlayPanel } from '@/features/tiling/viewer';

// Its own module so that the router can load the viewer (and OpenSeadragon) lazily.
// The tiling overlays reach the viewer through its `renderOverlay` slot.
export function SlideViewerRoute() {
  return (
    <SlideViewerPage
      canEdit={canCurate(useCurrentUser())}
      renderOverlay={(viewer, slideId) => <TilingOverlayPanel key={slideId} viewer={viewer} slideId={slideId} />}
    />
  );
}
