import { useCurrentUser } from '@/features/auth';
import { UsersPage } from '@/features/users';

export function UsersRoute() {
  const me = useCurrentUser();
  return me ? <UsersPage currentUserId={me.id} /> : null;
}
