import { useEffect, useRef, useState } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { Link, useParams } from 'react-router-dom';
import { ErrorMessage } from '@/components/error-message';
import { Loading } from '@/components/loading';
import { PageMessage } from '@/components/page-message';
import { paths } from '@/config/paths';
import { isApiError } from '@/lib/api-error';
import { formatDateTime } from '@/utils/format';
import { isActive, trainingKeys, type TrainingRun } from '../api/schemas';
import { useTrainingMetrics, useTrainingRun, useTrainingRunAction } from '../api/training';
import { formatAccuracy, formatEta, formatMemory, formatNumber, formatRate } from '../lib/format';
import { MetricsPanel } from './metrics-panel';
import { StepProgress, TrainingStatusBadge } from './run-status';

function num(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

/** Cancel (confirmed) and resume, for admins. */
function RunActions({ run }: { run: TrainingRun }) {
  const action = useTrainingRunAction();
  const [confirm, setConfirm] = useState(false);
  return (
    <>
      {run.can_cancel && !run.cancel_requested && (
        <span className="confirm">
          {confirm ? (
            <>
              <button
                type="button"
                className="btn btn-danger"
                disabled={action.isPending}
                onClick={() => action.mutate({ id: run.id, action: 'cancel' }, { onSettled: () => setConfirm(false) })}
              >
                Really cancel
              </button>
              <button type="button" className="btn" onClick={() => setConfirm(false)}>
                Keep training
              </button>
            </>
          ) : (
            <button type="button" className="btn" onClick={() => setConfirm(true)}>
              Cancel
            </button>
          )}
        </span>
      )}
      {run.can_resume && (
        <button type="button" className="btn btn-primary" disabled={action.isPending} onClick={() => action.mutate({ id: run.id, action: 'resume' })}>
          {action.isPending ? 'Resuming…' : 'Resume'}
        </button>
      )}
      {action.isError && <ErrorMessage error={action.error} />}
    </>
  );
}

function Summary({ run }: { run: TrainingRun }) {
  const last = run.last_metrics ?? {};
  const evalNow = run.latest_eval ?? {};
  const images = run.images_per_s ?? num(last.images_per_s);
  const memory = run.gpu_mem_mb ?? num(last.gpu_mem_mb);
  const item = (label: string, id: string, value: React.ReactNode) => (
    <div className="meta-pair">
      <dt>{label}</dt>
      <dd data-testid={`summary-${id}`}>{value}</dd>
    </div>
  );
  return (
    <dl className="meta-list wide" data-testid="training-summary" aria-label="Summary">
      {item('Status', 'status', run.status)}
      {item('Step', 'step', `${run.step} / ${run.total_steps}`)}
      {item('ETA', 'eta', isActive(run.status) ? formatEta(run.eta_s) : '—')}
      {item('Device', 'device', run.device ? `${run.device}${run.world_size && run.world_size > 1 ? ` × ${run.world_size}` : ''}` : '—')}
      {item('Images/s', 'images-per-s', formatRate(images))}
      {item('GPU memory', 'gpu-mem', formatMemory(memory))}
      {item('Loss', 'loss', formatNumber(last.loss))}
      {item('DINO / iBOT / KoLeo', 'losses', `${formatNumber(last.dino)} / ${formatNumber(last.ibot)} / ${formatNumber(last.koleo)}`)}
      {item('Learning rate', 'lr', formatNumber(last.lr))}
      {item('Weight decay', 'wd', formatNumber(last.wd))}
      {item('kNN accuracy', 'knn', formatAccuracy(evalNow.knn_accuracy))}
      {item('Linear probe', 'linear-probe', formatAccuracy(evalNow.linear_probe_accuracy))}
      {item('Checkpoint', 'checkpoint', run.checkpoint_step !== null ? `step ${run.checkpoint_step}` : '—')}
    </dl>
  );
}

function Facts({ run }: { run: TrainingRun }) {
  return (
    <dl className="meta-list wide" data-testid="training-facts">
      <dt>Dataset version</dt>
      <dd>
        {run.dataset_version ? (
          <>
            <Link to={paths.dataset(run.dataset_version.id)}>
              #{run.dataset_version.id} {run.dataset_version.name}
            </Link>
            {run.dataset_version.row_count !== null && <span className="muted"> · {run.dataset_version.row_count.toLocaleString('en-US')} tiles</span>}
          </>
        ) : (
          '—'
        )}
      </dd>
      <dt>Model</dt>
      <dd>
        <code>{run.model || '—'}</code>
      </dd>
      <dt>Preset</dt>
      <dd>{run.preset || '—'}</dd>
      <dt>Created</dt>
      <dd>
        {formatDateTime(run.created_at)}
        {run.created_by ? ` by ${run.created_by}` : ''}
      </dd>
      <dt>Started</dt>
      <dd>{formatDateTime(run.started_at)}</dd>
      <dt>Finished</dt>
      <dd>{formatDateTime(run.finished_at)}</dd>
    </dl>
  );
}

/** /training/runs/:runId — a run's progress, curves and evaluations; admins cancel and resume it. */
export function TrainingRunPage({ canManage = false }: { canManage?: boolean }) {
  const runId = Number(useParams().runId);
  const run = useTrainingRun(runId);
  const active = run.data ? isActive(run.data.status) : false;
  const metrics = useTrainingMetrics(runId, active);
  const queryClient = useQueryClient();

  // The last lines (and the final evaluation) land as the run ends: read the curves once more.
  const status = run.data?.status;
  const seen = useRef(status);
  useEffect(() => {
    if (seen.current !== undefined && status !== undefined && seen.current !== status) {
      void queryClient.invalidateQueries({ queryKey: trainingKeys.metrics(runId) });
    }
    seen.current = status;
  }, [status, runId, queryClient]);

  if (!Number.isInteger(runId)) return <PageMessage title="Not found" />;
  if (run.isLoading) return <Loading />;
  if (run.isError) {
    if (isApiError(run.error, 404)) {
      return (
        <PageMessage title="Training run not found">
          <Link to={paths.training}>All training runs</Link>
        </PageMessage>
      );
    }
    return <ErrorMessage error={run.error} onRetry={() => run.refetch()} />;
  }
  const r = run.data;
  if (!r) return null;

  return (
    <div className="page">
      <div className="page-head">
        <h1>
          {r.name} <span className="muted">#{r.id}</span>
        </h1>
        <TrainingStatusBadge status={r.status} />
        <span className="spacer" />
        <Link to={paths.training}>All training runs</Link>
        {r.backbone.available && (
          <span className="downloads" data-testid="backbone-links">
            <a className="btn" href={r.backbone.url} download>
              Download backbone
            </a>
            <a href={r.backbone.card_url} target="_blank" rel="noreferrer">
              Model card
            </a>
          </span>
        )}
        {canManage && <RunActions run={r} />}
      </div>
      {r.cancel_requested && isActive(r.status) && (
        <p className="warning-box" role="status" data-testid="cancel-requested">
          Cancel requested: stopping at next step (a checkpoint and the backbone are saved first).
        </p>
      )}
      {r.error && (
        <div className="error-message" role="alert" data-testid="run-error">
          <strong>{r.status === 'failed' ? 'The run failed: ' : 'Error: '}</strong>
          <span className="break" style={{ whiteSpace: 'pre-wrap' }}>
            {r.error}
          </span>
        </div>
      )}
      <section className="panel" aria-label="Progress">
        <StepProgress run={r} />
        {r.message && <div className="muted small" data-testid="run-message">{r.message}</div>}
        <div style={{ display: 'grid', gridTemplateColumns: 'repeat(auto-fill, minmax(320px, 1fr))', gap: '10px 24px' }}>
          <Summary run={r} />
          <Facts run={r} />
        </div>
      </section>
      <section className="panel" aria-label="Curves">
        <h2>Curves</h2>
        {metrics.isLoading && <Loading label="Loading the curves…" />}
        {metrics.isError && <ErrorMessage error={metrics.error} onRetry={() => metrics.refetch()} />}
        {metrics.data && <MetricsPanel metrics={metrics.data} />}
      </section>
      <section className="panel" aria-label="Recipe">
        <details>
          <summary>Recipe</summary>
          <pre className="json-block" data-testid="recipe-json">
            {JSON.stringify(r.recipe, null, 2)}
          </pre>
        </details>
      </section>
    </div>
  );
}
