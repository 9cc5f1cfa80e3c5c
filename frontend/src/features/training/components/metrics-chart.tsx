import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { formatNumber } from '../lib/format';

/**
 * One uPlot canvas chart of curves over training steps. Kept in its own module: jsdom has no
 * canvas, so component tests mock this file and assert on the numeric summary instead.
 */

export interface ChartSeries {
  label: string;
  values: Array<number | null>;
  colour: string;
  /** 'y2': a second axis on the right (weight decay next to the learning rate). */
  scale?: 'y' | 'y2';
}

interface Props {
  /** The chart's accessible name. */
  title: string;
  /** Steps, ascending; every series has one value per step (null for a gap). */
  x: number[];
  series: ChartSeries[];
  yLabel?: string;
  y2Label?: string;
  /** Draw a dot on every point (few points: evaluations). */
  points?: boolean;
  height?: number;
}

const MIN_WIDTH = 280;

function toData(x: number[], series: ChartSeries[]): uPlot.AlignedData {
  return [x, ...series.map((s) => s.values)] as uPlot.AlignedData;
}

export function MetricsChart({ title, x, series, yLabel, y2Label, points = false, height = 220 }: Props) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  // The plot is rebuilt only when its series change; new points go through setData.
  const shape = series.map((s) => `${s.label}:${s.scale ?? 'y'}:${s.colour}`).join('|');
  const latest = useRef({ x, series });
  latest.current = { x, series };

  useEffect(() => {
    const el = host.current;
    if (!el) return undefined;
    const { x: xs, series: ss } = latest.current;
    const hasY2 = ss.some((s) => s.scale === 'y2');
    const value = (_u: uPlot, v: number | null) => (v === null || v === undefined ? '—' : formatNumber(v));
    const axisValues = (_u: uPlot, splits: number[]) => splits.map((v) => formatNumber(v, 3));
    const opts: uPlot.Options = {
      width: Math.max(el.clientWidth, MIN_WIDTH),
      height,
      scales: { x: { time: false } },
      axes: [
        { label: 'step' },
        { scale: 'y', label: yLabel, size: 64, values: axisValues },
        ...(hasY2 ? [{ scale: 'y2', side: 1, label: y2Label, size: 64, values: axisValues, grid: { show: false } }] : []),
      ],
      series: [
        { label: 'step' },
        ...ss.map((s) => ({
          label: s.label,
          stroke: s.colour,
          width: 1.5,
          scale: s.scale ?? 'y',
          spanGaps: true,
          points: { show: points, size: 6, fill: s.colour },
          value,
        })),
      ],
      cursor: { drag: { x: true, y: false } },
    };
    const chart = new uPlot(opts, toData(xs, ss), el);
    plot.current = chart;
    let width = el.clientWidth;
    const observer = new ResizeObserver(() => {
      if (el.clientWidth === width) return;
      width = el.clientWidth;
      chart.setSize({ width: Math.max(width, MIN_WIDTH), height });
    });
    observer.observe(el);
    return () => {
      observer.disconnect();
      chart.destroy();
      plot.current = null;
    };
  }, [shape, height, yLabel, y2Label, points]);

  useEffect(() => {
    plot.current?.setData(toData(x, series));
  }, [x, series]);

  return <div ref={host} className="training-chart" role="img" aria-label={title} style={{ minWidth: 0, width: '100%' }} />;
}
