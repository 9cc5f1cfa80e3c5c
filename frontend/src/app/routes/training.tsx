import { isAdmin, useCurrentUser } from '@/features/auth';
import { TrainingPage, TrainingRunPage } from '@/features/training';

// Its own lazily loaded module: the training pages (and their chart library) are for a few.

export function TrainingRoute() {
  return <TrainingPage canManage={isAdmin(useCurrentUser())} />;
}

export function TrainingRunRoute() {
  return <TrainingRunPage canManage={isAdmin(useCurrentUser())} />;
}
