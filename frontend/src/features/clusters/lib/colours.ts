/**
 * How a cluster looks wherever it is drawn (list swatch, map, viewer overlay): accepted and
 * merged clusters in their category's colour, unreviewed ones grey, rejected ones dark and
 * hatched. Pure, so the overlay legend can be tested.
 */
import type { SemanticCategory, SlideLabels } from '../api/schemas';

export const UNREVIEWED_COLOUR = '#9aa0a6';
export const REJECTED_COLOUR = '#2b2b30';

export type ClusterLook = { kind: 'category'; colour: string } | { kind: 'unreviewed' } | { kind: 'rejected' };

const HEX = /^#[0-9a-f]{6}$/i;

export function clusterLook(status: string, colour: string | null | undefined): ClusterLook {
  if (status === 'rejected') return { kind: 'rejected' };
  if ((status === 'accepted' || status === 'merged') && colour && HEX.test(colour)) return { kind: 'category', colour: colour.toLowerCase() };
  return { kind: 'unreviewed' };
}

interface Decided {
  id: number;
  status: string;
  category_colour: string;
  merged_into: number | null;
}

/** The cluster whose decision applies: a merged cluster follows its target (chains too). */
export function effectiveCluster<T extends Decided>(cluster: T, byId: Map<number, T>): T {
  const seen = new Set<number>();
  let c = cluster;
  while (c.status === 'merged' && c.merged_into !== null && !seen.has(c.id)) {
    seen.add(c.id);
    const target = byId.get(c.merged_into);
    if (!target) break;
    c = target;
  }
  return c;
}

/** How a cluster is drawn, following merges to the decision that applies. */
export function decidedLook<T extends Decided>(cluster: T, byId: Map<number, T>): ClusterLook {
  const decided = effectiveCluster(cluster, byId);
  return clusterLook(decided.status === 'merged' ? 'unreviewed' : decided.status, decided.category_colour);
}

/** A CSS colour for the look (rejected: its dark base; the hatching is drawn on top). */
export function lookColour(look: ClusterLook): string {
  return look.kind === 'category' ? look.colour : look.kind === 'rejected' ? REJECTED_COLOUR : UNREVIEWED_COLOUR;
}

export function lookKey(look: ClusterLook): string {
  return look.kind === 'category' ? look.colour : look.kind;
}

/** "#rrggbb" → "rgba(r, g, b, alpha)". */
export function withAlpha(hex: string, alpha: number): string {
  const m = HEX.test(hex) ? hex.slice(1) : '9aa0a6';
  const [r, g, b] = [0, 2, 4].map((i) => parseInt(m.slice(i, i + 2), 16));
  return `rgba(${r}, ${g}, ${b}, ${alpha})`;
}

export interface LegendEntry {
  key: string;
  label: string;
  look: ClusterLook;
  tiles: number;
}

export interface LabelStyles {
  /** Distinct looks, in legend order. */
  looks: ClusterLook[];
  /** Per tile: its look's position in `looks`. */
  styleOf: Uint16Array;
  legend: LegendEntry[];
}

/**
 * Group a slide's tiles by how they are drawn, and build the legend: one entry per category
 * present (named from the vocabulary), then unreviewed and rejected, each with its tile count.
 */
export function labelStyles(labels: SlideLabels, categories: SemanticCategory[]): LabelStyles {
  const byCluster = new Map<number, ClusterLook>();
  for (const [index, info] of Object.entries(labels.clusters)) byCluster.set(Number(index), clusterLook(info.status, info.colour));
  const names = new Map<number, string>(categories.map((c) => [c.id, c.name]));
  const categoryOf = new Map<number, number | null>(Object.entries(labels.clusters).map(([i, info]) => [Number(i), info.category]));

  const keyPos = new Map<string, number>();
  const entries: LegendEntry[] = [];
  const looks: ClusterLook[] = [];
  const styleOf = new Uint16Array(labels.cluster_index.length);
  for (let i = 0; i < labels.cluster_index.length; i += 1) {
    const cluster = labels.cluster_index[i];
    const look = byCluster.get(cluster) ?? { kind: 'unreviewed' };
    const key = lookKey(look);
    let pos = keyPos.get(key);
    if (pos === undefined) {
      pos = looks.length;
      keyPos.set(key, pos);
      looks.push(look);
      const category = categoryOf.get(cluster);
      const label =
        look.kind === 'rejected' ? 'Rejected' : look.kind === 'unreviewed' ? 'Unreviewed' : ((category != null && names.get(category)) || look.colour);
      entries.push({ key, label, look, tiles: 0 });
    }
    styleOf[i] = pos;
    entries[pos].tiles += 1;
  }
  // Legend: categories by tile count, then unreviewed, then rejected; styleOf keeps its positions.
  const rank = (e: LegendEntry) => (e.look.kind === 'category' ? 0 : e.look.kind === 'unreviewed' ? 1 : 2);
  const legend = [...entries].sort((a, b) => rank(a) - rank(b) || b.tiles - a.tiles || a.label.localeCompare(b.label));
  return { looks, styleOf, legend };
}
