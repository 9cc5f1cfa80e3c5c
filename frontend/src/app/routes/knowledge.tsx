import { canCurate, isAdmin, useCurrentUser } from '@/features/auth';
import { SlideBrowser } from '@/features/slides';
import { TileSlidesAction } from '@/features/tiling/selection-action';

/**
 * Features do not know about the logged-in user; route wrappers pass each page what the
 * user's role allows. Hiding controls is a courtesy: the server enforces roles anyway.
 * Tiling is its own feature; the browser only offers a slot for more selection actions.
 */
export function SlidesRoute() {
  const user = useCurrentUser();
  return (
    <SlideBrowser
      canEdit={canCurate(user)}
      renderSelectionActions={isAdmin(user) ? (slideIds) => <TileSlidesAction slideIds={slideIds} /> : undefined}
    />
  );
}
