import { useMemo } from 'react';
import type { EvalPoint, Metrics } from '../api/schemas';
import { formatAccuracy } from '../lib/format';
import { MetricsChart, type ChartSeries } from './metrics-chart';

/** Drop the points without a step (a gap in the file), keeping every series aligned. */
function aligned(metrics: Metrics) {
  const { step } = metrics.steps;
  const keep = step.map((s, i) => (s === null ? -1 : i)).filter((i) => i >= 0);
  const pick = (values: Array<number | null>) => keep.map((i) => values[i] ?? null);
  return {
    x: pick(step) as number[],
    pick,
  };
}

function EvalTable({ points }: { points: EvalPoint[] }) {
  return (
    <table className="data-table" aria-label="Evaluations">
      <thead>
        <tr>
          <th className="num">Step</th>
          <th className="num">kNN accuracy</th>
          <th className="num">Linear-probe accuracy</th>
        </tr>
      </thead>
      <tbody>
        {points.map((p) => (
          <tr key={p.step} data-testid="eval-row">
            <td className="num">{p.step.toLocaleString('en-US')}</td>
            <td className="num">{formatAccuracy(p.knn_accuracy)}</td>
            <td className="num">{formatAccuracy(p.linear_probe_accuracy)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** The run's curves: losses, schedule, throughput, and evaluations over steps. */
export function MetricsPanel({ metrics }: { metrics: Metrics }) {
  const charts = useMemo(() => {
    const { x, pick } = aligned(metrics);
    const s = metrics.steps;
    const losses: ChartSeries[] = [
      { label: 'total', values: pick(s.loss), colour: '#1f2937' },
      { label: 'DINO', values: pick(s.dino), colour: '#2563eb' },
      { label: 'iBOT', values: pick(s.ibot), colour: '#d97706' },
      { label: 'KoLeo', values: pick(s.koleo), colour: '#059669' },
    ];
    const schedule: ChartSeries[] = [
      { label: 'learning rate', values: pick(s.lr), colour: '#7c3aed' },
      { label: 'weight decay', values: pick(s.wd), colour: '#9ca3af', scale: 'y2' },
    ];
    const throughput: ChartSeries[] = [{ label: 'images/s', values: pick(s.images_per_s), colour: '#0891b2' }];
    const evals = [...metrics.eval].sort((a, b) => a.step - b.step);
    const evalSeries: ChartSeries[] = [
      { label: 'kNN', values: evals.map((e) => e.knn_accuracy), colour: '#dc2626' },
      { label: 'linear probe', values: evals.map((e) => e.linear_probe_accuracy), colour: '#2563eb' },
    ];
    return { x, losses, schedule, throughput, evals, evalX: evals.map((e) => e.step), evalSeries };
  }, [metrics]);

  if (charts.x.length === 0 && charts.evals.length === 0) {
    return <p className="muted">No metrics yet: the first step's numbers appear here as soon as the trainer writes them.</p>;
  }
  return (
    <div className="stats-charts" style={{ gridTemplateColumns: 'repeat(auto-fill, minmax(420px, 1fr))' }}>
      <figure style={{ margin: 0, minWidth: 0 }}>
        <figcaption className="strong">Losses</figcaption>
        <MetricsChart title="Losses" x={charts.x} series={charts.losses} yLabel="loss" />
      </figure>
      <figure style={{ margin: 0, minWidth: 0 }}>
        <figcaption className="strong">Learning rate and weight decay</figcaption>
        <MetricsChart title="Learning rate and weight decay" x={charts.x} series={charts.schedule} yLabel="lr" y2Label="wd" />
      </figure>
      <figure style={{ margin: 0, minWidth: 0 }}>
        <figcaption className="strong">Throughput</figcaption>
        <MetricsChart title="Throughput" x={charts.x} series={charts.throughput} yLabel="images/s" />
      </figure>
      <figure style={{ margin: 0, minWidth: 0 }}>
        <figcaption className="strong">Evaluation</figcaption>
        {charts.evals.length > 0 ? (
          <>
            <MetricsChart title="Evaluation" x={charts.evalX} series={charts.evalSeries} yLabel="accuracy" points />
            <EvalTable points={charts.evals} />
          </>
        ) : (
          <p className="muted">No evaluation yet (it needs an evaluation folder; it runs every eval_every steps, or at the end).</p>
        )}
      </figure>
    </div>
  );
}
