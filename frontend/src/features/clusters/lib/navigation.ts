/** Moving through a run's clusters: by position in the shown list, or to the next unreviewed one. */

interface Item {
  index: number;
  status: string;
}

/** The index after (step 1) or before (step -1) `current` in `list` (ordered by index); wraps. */
export function stepIndex(list: Item[], current: number | null, step: 1 | -1): number | null {
  if (list.length === 0) return null;
  const pos = list.findIndex((c) => c.index === current);
  if (pos >= 0) return list[(pos + step + list.length) % list.length].index;
  // The current cluster is not in the (filtered) list: go to its neighbour by index.
  if (current === null) return list[step === 1 ? 0 : list.length - 1].index;
  const after = step === 1 ? list.find((c) => c.index > current) : [...list].reverse().find((c) => c.index < current);
  return (after ?? list[step === 1 ? 0 : list.length - 1]).index;
}

/** The first unreviewed cluster after `current` (by index, wrapping), or null when none is left. */
export function nextUnreviewed(all: Item[], current: number | null): number | null {
  const open = all.filter((c) => c.status === 'unreviewed');
  if (open.length === 0) return null;
  if (current === null) return open[0].index;
  return (open.find((c) => c.index > current) ?? open[0]).index;
}
