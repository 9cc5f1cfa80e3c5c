import { ErrorMessage } from '@/components/error-message';
import { Loading } from '@/components/loading';
import { useTilingConfigs } from '../api/configs';
import { useTilingRuns } from '../api/runs';
import { ConfigForm } from './config-form';
import { ConfigsTable } from './configs-table';
import { NewRunForm } from './new-run-form';
import { RunsTable } from './runs-table';

/** `canManage`: the user may create configurations and launch runs (admin); the server enforces it too. */
export function TilingPage({ canManage = false }: { canManage?: boolean }) {
  const configs = useTilingConfigs();
  const runs = useTilingRuns();
  return (
    <div className="page">
      <h1>Tiling</h1>
      <p className="muted">Tissue detection and tile grids per slide, in the tile store under one folder per configuration.</p>

      <h2>Configurations</h2>
      {canManage && <ConfigForm />}
      {configs.isLoading && <Loading />}
      {configs.isError && <ErrorMessage error={configs.error} onRetry={() => configs.refetch()} />}
      {configs.data && <ConfigsTable configs={configs.data.results} />}

      <h2>Runs</h2>
      {canManage && configs.data && <NewRunForm configs={configs.data.results} />}
      {runs.isLoading && <Loading />}
      {runs.isError && <ErrorMessage error={runs.error} onRetry={() => runs.refetch()} />}
      {runs.data && <RunsTable runs={runs.data.results} />}
    </div>
  );
}
