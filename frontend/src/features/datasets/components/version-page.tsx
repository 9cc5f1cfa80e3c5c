import { Link, useNavigate } from 'react-router-dom';
import { ErrorMessage } from '@/components/error-message';
import { Loading } from '@/components/loading';
import { paths } from '@/config/paths';
import { useSemanticCategoryOptions } from '@/lib/options';
import { formatDateTime } from '@/utils/format';
import { useCloneDataset, useDatasetStats } from '../api/datasets';
import type { Dataset, Stats } from '../api/schemas';
import { CountBars, TilesPerSlideHistogram } from './count-bars';
import { DiffPanel } from './diff-panel';
import { ExportPanel } from './export-panel';
import { GroupCategoryMatrix } from './group-category-matrix';
import { InputsSummary, RecipeSummary } from './recipe-summary';

const n = (v: number) => v.toLocaleString('en-US');

function StatsSection({ stats }: { stats: Stats }) {
  const categories = useSemanticCategoryOptions();
  return (
    <section className="panel" aria-label="Composition">
      <h2>Composition</h2>
      <div className="summary-bar" data-testid="stats-totals">
        <span>
          <strong>{n(stats.rows)}</strong> tiles
        </span>
        <span>
          <strong>{n(stats.train)}</strong> train
        </span>
        <span>
          <strong>{n(stats.validation)}</strong> validation
        </span>
        <span>
          <strong>{n(stats.slides)}</strong> slides
        </span>
        <span className={stats.shortfall > 0 ? 'warn-text' : undefined}>
          <strong>{n(stats.shortfall)}</strong> short
        </span>
      </div>
      <GroupCategoryMatrix
        cells={stats.cells.map((c) => ({ group: c.group, category: c.category, value: c.achieved, reference: c.target }))}
        mode="built"
        categories={categories.data ?? []}
        label="Achieved composition"
      />
      <div className="stats-charts">
        <CountBars title="By lab" entries={stats.by_lab} total={stats.rows} />
        <CountBars title="By scanner" entries={stats.by_scanner} total={stats.rows} />
        <CountBars title="By stain" entries={stats.by_stain} total={stats.rows} />
        <TilesPerSlideHistogram stats={stats.tiles_per_slide} />
      </div>
      {stats.notes.length > 0 && (
        <ul className="notes" aria-label="Notes">
          {stats.notes.map((note) => (
            <li key={note}>{note}</li>
          ))}
        </ul>
      )}
    </section>
  );
}

/** A built version: what it holds, how it was made, how it differs from another, and its files. */
export function VersionPage({ dataset, canCurate }: { dataset: Dataset; canCurate: boolean }) {
  const stats = useDatasetStats(dataset.id);
  const clone = useCloneDataset();
  const navigate = useNavigate();

  return (
    <div className="page version-page">
      <div className="page-head">
        <h1>
          {dataset.name} <span className="muted">#{dataset.id}</span>
        </h1>
        <span className={`badge badge-dataset-${dataset.status}`}>{dataset.status}</span>
        <span className="spacer" />
        <Link to={paths.datasets}>All versions</Link>
        {canCurate && (
          <button type="button" className="btn" disabled={clone.isPending} onClick={() => clone.mutate(dataset.id, { onSuccess: (draft) => navigate(paths.dataset(draft.id)) })}>
            {clone.isPending ? 'Cloning…' : 'Clone as new draft'}
          </button>
        )}
      </div>
      {clone.isError && <ErrorMessage error={clone.error} />}
      <dl className="meta-list wide version-facts" data-testid="version-facts">
        <dt>Rows</dt>
        <dd data-testid="row-count">{n(dataset.row_count)}</dd>
        <dt>Checksum</dt>
        <dd>
          <code className="break" data-testid="full-checksum">
            {dataset.checksum || '—'}
          </code>
        </dd>
        <dt>Cluster run</dt>
        <dd>{dataset.cluster_run !== null ? <Link to={paths.clusterRun(dataset.cluster_run)}>{dataset.cluster_run_name || `#${dataset.cluster_run}`}</Link> : '—'}</dd>
        <dt>Built</dt>
        <dd>
          {formatDateTime(dataset.built_at)}
          {dataset.built_by ? ` by ${dataset.built_by}` : ''}
        </dd>
        <dt>Created</dt>
        <dd>
          {formatDateTime(dataset.created_at)}
          {dataset.created_by ? ` by ${dataset.created_by}` : ''}
        </dd>
        {dataset.parent !== null && (
          <>
            <dt>Parent</dt>
            <dd>
              <Link to={paths.dataset(dataset.parent)}>#{dataset.parent}</Link>
            </dd>
          </>
        )}
      </dl>
      {dataset.shortfall > 0 && (
        <p className="warning-box">The recipe asked for {n(dataset.shortfall)} tiles more than existed; the version holds what there was.</p>
      )}
      {stats.isLoading && <Loading label="Loading the composition…" />}
      {stats.isError && <ErrorMessage error={stats.error} onRetry={() => stats.refetch()} />}
      {stats.data && <StatsSection stats={stats.data} />}
      <section className="panel" aria-label="Recipe">
        <h2>Recipe</h2>
        <RecipeSummary recipe={dataset.recipe} />
        {dataset.inputs !== undefined && (
          <>
            <h3>Inputs when built</h3>
            <InputsSummary inputs={dataset.inputs} />
          </>
        )}
      </section>
      <ExportPanel dataset={dataset} canExport={canCurate} />
      <DiffPanel dataset={dataset} />
    </div>
  );
}
