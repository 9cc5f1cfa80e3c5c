import { useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router-dom';
import { ErrorMessage } from '@/components/error-message';
import { Loading } from '@/components/loading';
import { PageMessage } from '@/components/page-message';
import { paths } from '@/config/paths';
import { isApiError } from '@/lib/api-error';
import { useDataset, useDeleteDataset } from '../api/datasets';
import type { Dataset } from '../api/schemas';
import { DatasetBuilder } from './dataset-builder';
import { BuildProgress, DatasetStatusBadge } from './dataset-status';
import { VersionPage } from './version-page';

function DeleteDraft({ dataset }: { dataset: Dataset }) {
  const [confirm, setConfirm] = useState(false);
  const remove = useDeleteDataset();
  const navigate = useNavigate();
  return (
    <span className="confirm">
      {confirm ? (
        <>
          <button
            type="button"
            className="btn btn-small btn-danger"
            disabled={remove.isPending}
            onClick={() => remove.mutate(dataset.id, { onSuccess: () => navigate(paths.datasets) })}
          >
            Really delete
          </button>
          <button type="button" className="btn btn-small" onClick={() => setConfirm(false)}>
            Keep
          </button>
        </>
      ) : (
        <button type="button" className="btn btn-small" onClick={() => setConfirm(true)}>
          Delete draft
        </button>
      )}
      {remove.isError && <ErrorMessage error={remove.error} />}
    </span>
  );
}

/** /datasets/:datasetId — the builder while a draft, progress while building, the version once built. */
export function DatasetPage({ canCurate }: { canCurate: boolean }) {
  const { datasetId } = useParams();
  const id = Number(datasetId);
  const dataset = useDataset(id);

  if (!Number.isInteger(id) || id <= 0 || isApiError(dataset.error, 404)) {
    return (
      <PageMessage title="No such dataset version">
        <Link to={paths.datasets}>All versions</Link>
      </PageMessage>
    );
  }
  if (dataset.isLoading) return <Loading />;
  if (dataset.isError) return <ErrorMessage error={dataset.error} onRetry={() => dataset.refetch()} />;
  const d = dataset.data;
  if (!d) return null;
  if (d.status === 'built') return <VersionPage dataset={d} canCurate={canCurate} />;

  return (
    <div className="page builder-page">
      <div className="page-head">
        <h1>
          {d.name} <span className="muted">#{d.id}</span>
        </h1>
        <DatasetStatusBadge status={d.status} />
        {d.parent !== null && (
          <span className="muted">
            cloned from <Link to={paths.dataset(d.parent)}>#{d.parent}</Link>
          </span>
        )}
        <span className="spacer" />
        <Link to={paths.datasets}>All versions</Link>
        {canCurate && d.status !== 'building' && <DeleteDraft dataset={d} />}
      </div>
      {d.status === 'building' ? (
        <section className="panel" aria-label="Build">
          <h2>Building…</h2>
          <BuildProgress dataset={d} />
          <p className="muted small">The page turns into the version when the build is done.</p>
        </section>
      ) : (
        <>
          {d.status === 'failed' && (
            <div className="error-message" role="alert">
              The build failed{d.error ? `: ${d.error}` : '.'}
            </div>
          )}
          <DatasetBuilder key={d.id} dataset={d} canEdit={canCurate} />
        </>
      )}
    </div>
  );
}
