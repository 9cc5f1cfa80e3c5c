import { canCurate, useCurrentUser } from '@/features/auth';
import { ClusterLabelPanel } from '@/features/clusters/viewer';
import { SlideViewerPage } from '@/features/slides/viewer';
import { TilingOverlayPanel } from '@/features/tiling/viewer';

// Its own module so that the router can load the viewer (and OpenSeadragon) lazily.
// The tiling and cluster overlays reach the viewer through its `renderOverlay` slot.
export function SlideViewerRoute() {
  return (
    <SlideViewerPage
      canEdit={canCurate(useCurrentUser())}
      renderOverlay={(viewer, slideId) => (
        <div className="viewer-panels" key={slideId}>
          <TilingOverlayPanel viewer={viewer} slideId={slideId} />
          <ClusterLabelPanel viewer={viewer} slideId={slideId} />
        </div>
      )}
    />
  );
}
