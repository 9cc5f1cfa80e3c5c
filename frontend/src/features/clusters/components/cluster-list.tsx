import type { Cluster, SemanticCategory } from '../api/schemas';
import { decidedLook } from '../lib/colours';
import { ClusterSwatch } from './swatch';

export type ClusterFilter = string; // 'all' | 'unreviewed' | 'accepted' | 'rejected' | 'merged' | 'category:<id>'

export function matchesFilter(cluster: Cluster, filter: ClusterFilter): boolean {
  if (filter === 'all') return true;
  if (filter.startsWith('category:')) return cluster.status !== 'rejected' && cluster.category === Number(filter.slice(9));
  return cluster.status === filter;
}

/** What the row says about the decision: the category, the reject reason, or the merge target. */
export function decisionLabel(cluster: Cluster, indexOf: (id: number) => number | undefined): string {
  if (cluster.status === 'accepted') return cluster.category_name || 'accepted';
  if (cluster.status === 'rejected') return cluster.reject_reason ? `rejected: ${cluster.reject_reason.replace(/_/g, ' ')}` : 'rejected';
  if (cluster.status === 'merged') {
    const target = cluster.merged_into === null ? undefined : indexOf(cluster.merged_into);
    return target === undefined ? 'merged' : `→ #${target}${cluster.category_name ? ` ${cluster.category_name}` : ''}`;
  }
  return 'unreviewed';
}

interface Props {
  clusters: Cluster[];
  shown: Cluster[];
  categories: SemanticCategory[];
  filter: ClusterFilter;
  onFilter: (filter: ClusterFilter) => void;
  current: number | null;
  onSelect: (index: number) => void;
}

export function ClusterList({ clusters, shown, categories, filter, onFilter, current, onSelect }: Props) {
  const byId = new Map(clusters.map((c) => [c.id, c]));
  const indexOf = (id: number) => byId.get(id)?.index;
  const count = (f: ClusterFilter) => clusters.filter((c) => matchesFilter(c, f)).length;
  return (
    <aside className="cluster-list-panel" aria-label="Clusters">
      <label className="inline-label">
        Show
        <select
          aria-label="Filter clusters"
          value={filter}
          onChange={(e) => {
            onFilter(e.target.value);
            // Hand the keyboard back to the gallery: keys typed into a select are ignored.
            e.currentTarget.blur();
          }}
        >
          <option value="all">All ({clusters.length})</option>
          <option value="unreviewed">Unreviewed ({count('unreviewed')})</option>
          <option value="accepted">Accepted ({count('accepted')})</option>
          <option value="rejected">Rejected ({count('rejected')})</option>
          <option value="merged">Merged ({count('merged')})</option>
          {categories.map((c) => (
            <option key={c.id} value={`category:${c.id}`}>
              {c.name} ({count(`category:${c.id}`)})
            </option>
          ))}
        </select>
      </label>
      <ul className="cluster-list">
        {shown.map((c) => (
          <li key={c.id}>
            <button
              type="button"
              className={`cluster-row status-${c.status}`}
              aria-current={c.index === current ? 'true' : undefined}
              data-testid="cluster-row"
              data-index={c.index}
              data-status={c.status}
              onClick={() => onSelect(c.index)}
            >
              <ClusterSwatch look={decidedLook(c, byId)} />
              <span className="cluster-index">#{c.index}</span>
              <span className="cluster-size muted">{c.size.toLocaleString('en-US')}</span>
              <span className="cluster-decision">{decisionLabel(c, indexOf)}</span>
            </button>
          </li>
        ))}
        {shown.length === 0 && <li className="muted empty-note">No clusters match.</li>}
      </ul>
    </aside>
  );
}
