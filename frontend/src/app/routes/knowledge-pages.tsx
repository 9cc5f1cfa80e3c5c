import { AuditPage } from '@/features/audit';
import { canCurate, isAdmin, useCurrentUser } from '@/features/auth';
import { GroupsPage } from '@/features/groups';
import { TagRulesPage } from '@/features/tag-rules';
import { VocabularyPage } from '@/features/vocabulary';
import { RequireAdmin } from '../layout/require-auth';

// One lazily loaded module for the curation pages, so the slide browser's bundle stays small.

export function GroupsRoute() {
  return <GroupsPage canEdit={canCurate(useCurrentUser())} />;
}

export function VocabularyRoute() {
  return <VocabularyPage canEdit={isAdmin(useCurrentUser())} />;
}

export function TagRulesRoute() {
  return (
    <RequireAdmin>
      <TagRulesPage />
    </RequireAdmin>
  );
}

export function AuditRoute() {
  return <AuditPage />;
}
