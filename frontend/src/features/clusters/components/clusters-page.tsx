import { Link } from 'react-router-dom';
import { ErrorMessage } from '@/components/error-message';
import { Loading } from '@/components/loading';
import { paths } from '@/config/paths';
import { useClusterRuns } from '../api/runs';
import { ClusterRunsTable } from './cluster-runs-table';
import { NewClusterRunForm } from './new-cluster-run-form';

/** `canManage`: the user may launch, cancel and resume runs (admin); the server enforces it too. */
export function ClustersPage({ canManage = false }: { canManage?: boolean }) {
  const runs = useClusterRuns();
  return (
    <div className="page">
      <div className="page-head">
        <h1>Clusters</h1>
        <span className="spacer" />
        <Link to={paths.clusterCategories}>Semantic categories</Link>
      </div>
      <p className="muted">
        Tiles grouped by k-means on colour features or deep embeddings; pathologists name each cluster with a semantic category or reject it.
      </p>
      {canManage && <NewClusterRunForm />}
      <h2>Runs</h2>
      {runs.isLoading && <Loading />}
      {runs.isError && <ErrorMessage error={runs.error} onRetry={() => runs.refetch()} />}
      {runs.data && <ClusterRunsTable runs={runs.data} canManage={canManage} />}
    </div>
  );
}
