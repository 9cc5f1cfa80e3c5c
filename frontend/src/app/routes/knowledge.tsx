import { canCurate, useCurrentUser } from '@/features/auth';
import { SlideBrowser } from '@/features/slides';

/**
 * Features do not know about the logged-in user; route wrappers pass each page what the
 * user's role allows. Hiding controls is a courtesy: the server enforces roles anyway.
 */
export function SlidesRoute() {
  return <SlideBrowser canEdit={canCurate(useCurrentUser())} />;
}
