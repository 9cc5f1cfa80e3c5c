import { useState, type FormEvent } from 'react';
import { Link } from 'react-router-dom';
import { ErrorMessage } from '@/components/error-message';
import { paths } from '@/config/paths';
import { useTilingConfigs } from '../api/configs';
import { useStartTilingRun } from '../api/runs';
import { ConfigSelect } from './config-select';

/** "Tile…" in the slide browser's selection toolbar (admin): a run over the selected slides. */
export function TileSlidesAction({ slideIds }: { slideIds: number[] }) {
  const [open, setOpen] = useState(false);
  const [configId, setConfigId] = useState('');
  // Only fetched once the panel opens: most selections are not for tiling.
  const configs = useTilingConfigs(open);
  const start = useStartTilingRun();

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!configId) return;
    start.mutate({ config: Number(configId), slides: slideIds }, { onSuccess: () => setOpen(false) });
  };

  return (
    <div className="bulk-actions">
      <div className="bulk-buttons">
        <button
          type="button"
          className="btn btn-small"
          aria-pressed={open}
          onClick={() => {
            setOpen(!open);
            start.reset();
          }}
        >
          Tile…
        </button>
      </div>
      {open && (
        <form className="bulk-panel inline" onSubmit={submit} aria-label="Tile slides">
          {configs.isError && <ErrorMessage error={configs.error} />}
          <ConfigSelect configs={configs.data?.results ?? []} value={configId} onChange={setConfigId} />
          {configs.data && configs.data.results.length === 0 && (
            <span className="muted">No configurations yet (create one on the Tiling page).</span>
          )}
          <button type="submit" className="btn btn-primary btn-small" disabled={!configId || start.isPending}>
            Tile {slideIds.length} slide{slideIds.length === 1 ? '' : 's'}
          </button>
          <button type="button" className="btn btn-small" onClick={() => setOpen(false)}>
            Cancel
          </button>
        </form>
      )}
      {start.isPending && <span className="spinner" aria-label="Working" />}
      {start.isError && <ErrorMessage error={start.error} />}
      {start.isSuccess && (
        <span className="ok-message" role="status" data-testid="tile-result">
          Run <Link to={paths.tilingRun(start.data.id)}>#{start.data.id}</Link> started for {start.data.total} slide
          {start.data.total === 1 ? '' : 's'}.
        </span>
      )}
    </div>
  );
}
