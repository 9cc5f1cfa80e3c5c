import type OpenSeadragon from 'openseadragon';
import { useMemo, useState } from 'react';
import { Link } from 'react-router-dom';
import { ErrorMessage } from '@/components/error-message';
import { paths } from '@/config/paths';
import { ApiError } from '@/lib/api-error';
import { useSemanticCategories } from '../api/categories';
import { useSlideLabels } from '../api/clusters';
import { useSucceededClusterRuns } from '../api/runs';
import { labelStyles, lookColour, type LegendEntry } from '../lib/colours';
import { useLabelOverlay } from '../hooks/use-label-overlay';

function LegendSwatch({ entry }: { entry: LegendEntry }) {
  return <span className={`swatch swatch-${entry.look.kind}`} style={{ background: entry.look.kind === 'rejected' ? undefined : lookColour(entry.look) }} aria-hidden="true" />;
}

interface Props {
  slideId: number;
  viewer: OpenSeadragon.Viewer;
}

/** Cluster labels of one finished run over the slide, one colour per semantic category. Hidden when no run has finished. */
export function ClusterLabelPanel({ slideId, viewer }: Props) {
  const runs = useSucceededClusterRuns();
  const categories = useSemanticCategories();
  const [runId, setRunId] = useState<number | null>(null);
  const [show, setShow] = useState(false);
  const list = runs.data ?? [];
  const run = list.find((r) => r.id === runId) ?? list[0] ?? null;
  const labels = useSlideLabels(show && run ? run.id : null, slideId);
  const styles = useMemo(() => (labels.data ? labelStyles(labels.data, categories.data ?? []) : null), [labels.data, categories.data]);
  useLabelOverlay(viewer, show ? (labels.data ?? null) : null, show ? styles : null);

  if (runs.isError) {
    if (runs.error instanceof ApiError && runs.error.status === 404) return null;
    return (
      <div className="tiling-panel">
        <ErrorMessage error={runs.error} />
      </div>
    );
  }
  if (!run) return null;
  const notInRun = labels.error instanceof ApiError && labels.error.status === 404;

  return (
    <div className="tiling-panel cluster-label-panel" role="region" aria-label="Cluster labels">
      <label className="inline-label">
        Cluster run
        <select aria-label="Cluster run" value={run.id} onChange={(e) => setRunId(Number(e.target.value))}>
          {list.map((r) => (
            <option key={r.id} value={r.id}>
              #{r.id} {r.name}
            </option>
          ))}
        </select>
      </label>
      <label className="check">
        <input type="checkbox" checked={show} onChange={(e) => setShow(e.target.checked)} />
        Cluster labels
      </label>
      {show && labels.isLoading && <span className="muted">Loading labels…</span>}
      {show && notInRun && <span className="muted">This slide is not in run #{run.id}.</span>}
      {show && labels.isError && !notInRun && <ErrorMessage error={labels.error} />}
      {show && styles && (
        <ul className="legend" aria-label="Legend" data-testid="cluster-legend">
          {styles.legend.map((e) => (
            <li key={e.key} data-testid="legend-entry">
              <LegendSwatch entry={e} />
              <span className="legend-label">{e.label}</span>
              <span className="muted">{e.tiles.toLocaleString('en-US')}</span>
            </li>
          ))}
        </ul>
      )}
      {show && (
        <Link to={paths.clusterRun(run.id)} className="small">
          Review run #{run.id}
        </Link>
      )}
    </div>
  );
}
