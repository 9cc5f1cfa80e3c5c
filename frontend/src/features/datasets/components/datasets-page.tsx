import { useState, type FormEvent } from 'react';
import { Link, useNavigate } from 'react-router-dom';
import { ErrorMessage } from '@/components/error-message';
import { Field } from '@/components/field';
import { Loading } from '@/components/loading';
import { paths } from '@/config/paths';
import { fieldErrors } from '@/lib/field-errors';
import { useGroupOptions, useSucceededClusterRunOptions } from '@/lib/options';
import { formatDateTime } from '@/utils/format';
import { useCreateDataset, useDatasets } from '../api/datasets';
import type { Dataset } from '../api/schemas';
import { defaultRecipe } from '../lib/recipe';
import { BuildProgress, DatasetStatusBadge, ShortChecksum } from './dataset-status';

function NewVersionForm() {
  const runs = useSucceededClusterRunOptions();
  const groups = useGroupOptions(true);
  const create = useCreateDataset();
  const navigate = useNavigate();
  const [name, setName] = useState('');
  const [run, setRun] = useState('');
  const errors = fieldErrors(create.error);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate(
      { name: name.trim(), cluster_run: Number(run), recipe: defaultRecipe(groups.data ?? []) },
      { onSuccess: (draft) => navigate(paths.dataset(draft.id)) },
    );
  };

  return (
    <form className="inline-form" aria-label="New version" onSubmit={submit}>
      <h2 className="form-title">New version</h2>
      <Field label="Name" errors={errors} name="name" grow>
        <input value={name} onChange={(e) => setName(e.target.value)} required placeholder="colon H&E v1" />
      </Field>
      <Field label="Cluster run" errors={errors} name="cluster_run">
        <select value={run} onChange={(e) => setRun(e.target.value)} required>
          <option value="">Choose a finished run…</option>
          {(runs.data ?? []).map((r) => (
            <option key={r.id} value={String(r.id)}>
              #{r.id} {r.name}
            </option>
          ))}
        </select>
      </Field>
      <button type="submit" className="btn btn-primary" disabled={create.isPending || !groups.isSuccess}>
        {create.isPending ? 'Creating…' : 'Create draft'}
      </button>
      {runs.isSuccess && runs.data.length === 0 && <span className="muted">No finished cluster run yet: a version samples from one.</span>}
      {create.isError && <ErrorMessage error={create.error} />}
      {runs.isError && <ErrorMessage error={runs.error} />}
    </form>
  );
}

function VersionsTable({ versions }: { versions: Dataset[] }) {
  return (
    <div className="table-wrap">
      <table className="data-table" aria-label="Dataset versions">
        <thead>
          <tr>
            <th>Version</th>
            <th>Status</th>
            <th>Cluster run</th>
            <th className="num">Rows</th>
            <th>Checksum</th>
            <th>Built</th>
            <th>Parent</th>
          </tr>
        </thead>
        <tbody>
          {versions.map((v) => (
            <tr key={v.id} data-testid="dataset-row">
              <td>
                <Link to={paths.dataset(v.id)}>
                  #{v.id} {v.name}
                </Link>
              </td>
              <td className="scan-cell">
                <DatasetStatusBadge status={v.status} />
                {v.status !== 'built' && v.status !== 'draft' && <BuildProgress dataset={v} />}
              </td>
              <td>{v.cluster_run !== null ? <Link to={paths.clusterRun(v.cluster_run)}>{v.cluster_run_name || `#${v.cluster_run}`}</Link> : '—'}</td>
              <td className="num">{v.status === 'built' ? v.row_count.toLocaleString('en-US') : '—'}</td>
              <td>
                <ShortChecksum checksum={v.checksum} />
              </td>
              <td className="nowrap">
                {v.built_at ? (
                  <>
                    {formatDateTime(v.built_at)}
                    {v.built_by && <div className="muted small">by {v.built_by}</div>}
                  </>
                ) : (
                  <span className="muted">—</span>
                )}
              </td>
              <td>{v.parent !== null ? <Link to={paths.dataset(v.parent)}>#{v.parent}</Link> : <span className="muted">—</span>}</td>
            </tr>
          ))}
          {versions.length === 0 && (
            <tr>
              <td colSpan={7} className="muted">
                No dataset versions yet.
              </td>
            </tr>
          )}
        </tbody>
      </table>
    </div>
  );
}

/** /datasets — every version, newest first; curators start new drafts here. */
export function DatasetsPage({ canCurate }: { canCurate: boolean }) {
  const versions = useDatasets();
  const [showForm, setShowForm] = useState(false);
  return (
    <div className="page">
      <div className="page-head">
        <h1>Datasets</h1>
        <span className="spacer" />
        <Link to={paths.accountTokens}>API tokens</Link>
        {canCurate && (
          <button type="button" className="btn btn-primary" aria-expanded={showForm} onClick={() => setShowForm(!showForm)}>
            New version
          </button>
        )}
      </div>
      <p className="muted">
        A dataset version is an immutable manifest of tiles drawn from a reviewed cluster run, balanced over slide groups and semantic categories by weight.
      </p>
      {canCurate && showForm && <NewVersionForm />}
      {versions.isLoading && <Loading />}
      {versions.isError && <ErrorMessage error={versions.error} onRetry={() => versions.refetch()} />}
      {versions.data && <VersionsTable versions={versions.data} />}
    </div>
  );
}
