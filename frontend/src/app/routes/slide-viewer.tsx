import { canCurate, useCurrentUser } from '@/features/auth';
import { SlideViewerPage } from '@/features/slides/viewer';

// Its own module so that the router can load the viewer (and OpenSeadragon) lazily.
export function SlideViewerRoute() {
  return <SlideViewerPage canEdit={canCurate(useCurrentUser())} />;
}
