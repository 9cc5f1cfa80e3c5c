import { isAdmin, useCurrentUser } from '@/features/auth';
import { RunDetailPage, TilingPage } from '@/features/tiling';

// Its own lazily loaded module: most visits never open the tiling pages.

export function TilingRoute() {
  return <TilingPage canManage={isAdmin(useCurrentUser())} />;
}

export function TilingRunRoute() {
  return <RunDetailPage />;
}
