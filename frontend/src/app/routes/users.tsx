import { useCurrentUser } from '@/features/auth';
import { UsersPage } from '@/features/users';

export function UsersRoute() {
  const me = useCurrentUser();
  return <UsersPage currentUserId={me.id} />;
}
