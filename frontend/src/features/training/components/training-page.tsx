import { useState } from 'react';
import { ErrorMessage } from '@/components/error-message';
import { Loading } from '@/components/loading';
import { useTrainingRuns } from '../api/training';
import { NewTrainingRunForm } from './new-training-run-form';
import { TrainingRunsTable } from './training-runs-table';

/** /training — every run, newest first, polled while one is queued or running; admins launch runs. */
export function TrainingPage({ canManage = false }: { canManage?: boolean }) {
  const runs = useTrainingRuns();
  const [showForm, setShowForm] = useState(false);
  return (
    <div className="page">
      <div className="page-head">
        <h1>Training</h1>
        <span className="spacer" />
        {canManage && (
          <button type="button" className="btn btn-primary" aria-expanded={showForm} onClick={() => setShowForm(!showForm)}>
            New training run
          </button>
        )}
      </div>
      <p className="muted">
        Self-supervised DINOv2 training (DINO, iBOT and KoLeo losses) of a ViT backbone on a built dataset version; a finished or stopped run exports its
        backbone for cluster runs.
      </p>
      {canManage && showForm && <NewTrainingRunForm />}
      <h2>Runs</h2>
      {runs.isLoading && <Loading />}
      {runs.isError && <ErrorMessage error={runs.error} onRetry={() => runs.refetch()} />}
      {runs.data && <TrainingRunsTable runs={runs.data} />}
    </div>
  );
}
