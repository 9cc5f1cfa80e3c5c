import { canCurate, isAdmin, useCurrentUser } from '@/features/auth';
import { ClustersPage, ReviewGalleryPage, SemanticCategoriesPage } from '@/features/clusters';

// Its own lazily loaded module: the cluster pages are for reviewers, not every visit.

export function ClustersRoute() {
  return <ClustersPage canManage={isAdmin(useCurrentUser())} />;
}

export function SemanticCategoriesRoute() {
  return <SemanticCategoriesPage canEdit={canCurate(useCurrentUser())} />;
}

export function ClusterReviewRoute() {
  const user = useCurrentUser();
  return <ReviewGalleryPage canReview={canCurate(user)} canManage={isAdmin(user)} />;
}
