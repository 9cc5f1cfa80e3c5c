import { useGroupOptions, useSemanticCategoryOptions } from '@/lib/options';
import type { Recipe } from '../api/schemas';

const show = (v: number | null) => (v === null ? 'none' : v.toLocaleString('en-US'));

/** A built version's recipe, read-only, with group and category names. */
export function RecipeSummary({ recipe }: { recipe: Recipe }) {
  const groups = useGroupOptions(true);
  const categories = useSemanticCategoryOptions();
  const groupName = (id: number) => groups.data?.find((g) => g.id === id)?.name ?? `group #${id}`;
  const category = (id: number) => categories.data?.find((c) => c.id === id);
  return (
    <div className="recipe-summary" data-testid="recipe-summary">
      <dl className="meta-list wide">
        <dt>Groups</dt>
        <dd>
          {recipe.groups.length === 0 && <span className="muted">none</span>}
          {recipe.groups.map((g) => (
            <span key={g.group} className="chip">
              {groupName(g.group)} × {g.weight}
            </span>
          ))}
        </dd>
        <dt>Categories</dt>
        <dd>
          {recipe.categories.length === 0 && <span className="muted">none</span>}
          {recipe.categories.map((c) => {
            const cat = category(c.category);
            return (
              <span key={c.category} className="chip">
                {cat?.colour && <span className="swatch" style={{ background: cat.colour }} />} {cat?.name ?? `category #${c.category}`} ×{' '}
                {c.weight ?? <span title="the category's default weight">{cat?.default_weight ?? 'default'}</span>}
              </span>
            );
          })}
        </dd>
        <dt>Unreviewed</dt>
        <dd>{recipe.include_unreviewed ? 'included (as “unreviewed”)' : 'left out'}</dd>
        <dt>Budget</dt>
        <dd>
          {show(recipe.budget)} tiles, at most {show(recipe.per_slide_cap)} per slide
        </dd>
        <dt>Quality</dt>
        <dd>
          tissue ≥ {recipe.quality.min_tissue_fraction}, sharpness ≥ {show(recipe.quality.min_sharpness)}, pen ≤ {show(recipe.quality.max_pen_score)}
        </dd>
        <dt>Split</dt>
        <dd>
          by {recipe.split.by}, {Math.round(recipe.split.validation_fraction * 1000) / 10}% validation
        </dd>
        <dt>Seed</dt>
        <dd>{recipe.seed}</dd>
      </dl>
    </div>
  );
}

function Value({ value }: { value: unknown }) {
  if (value === null || value === undefined || value === '') return <span className="muted">—</span>;
  if (typeof value !== 'object') return <span className="break">{String(value)}</span>;
  if (Array.isArray(value) && value.every((v) => typeof v !== 'object')) return <span className="break">{value.join(', ') || '—'}</span>;
  return (
    <details>
      <summary>{Array.isArray(value) ? `${value.length} entries` : `${Object.keys(value).length} fields`}</summary>
      <pre className="json-block">{JSON.stringify(value, null, 2)}</pre>
    </details>
  );
}

interface FrozenInputs {
  cluster_run?: number;
  clusters?: Array<{ status?: string }>;
  groups?: Array<{ group?: number; name?: string; weight?: number; slide_count?: number; digest?: string }>;
  category_weights?: Record<string, number>;
}

/**
 * The state of the inputs when the version was built (each group's members as a count and a
 * digest, every cluster's decision, the effective category weights), as the server froze it.
 */
export function InputsSummary({ inputs }: { inputs: unknown }) {
  if (!inputs || typeof inputs !== 'object' || Object.keys(inputs).length === 0) return <p className="muted">No input state recorded.</p>;
  const known = inputs as FrozenInputs;
  const statuses = new Map<string, number>();
  for (const c of known.clusters ?? []) statuses.set(c.status ?? '?', (statuses.get(c.status ?? '?') ?? 0) + 1);
  const rest = Object.entries(inputs as Record<string, unknown>).filter(([key]) => !['cluster_run', 'clusters', 'groups', 'category_weights'].includes(key));
  return (
    <dl className="meta-list wide" data-testid="inputs-summary">
      {known.groups && (
        <>
          <dt>Groups</dt>
          <dd>
            {known.groups.map((g) => (
              <span key={g.group ?? g.name} className="chip" title={g.digest ? `members digest ${g.digest}` : undefined}>
                {g.name ?? `#${g.group}`}: {g.slide_count ?? '?'} slides × {g.weight ?? '?'}
              </span>
            ))}
          </dd>
        </>
      )}
      {known.clusters && (
        <>
          <dt>Clusters</dt>
          <dd>
            {known.clusters.length} ({[...statuses.entries()].map(([status, count]) => `${count} ${status}`).join(', ')})
          </dd>
        </>
      )}
      {known.category_weights && (
        <>
          <dt>Category weights</dt>
          <dd>
            {Object.entries(known.category_weights).map(([name, weight]) => (
              <span key={name} className="chip">
                {name} × {weight}
              </span>
            ))}
          </dd>
        </>
      )}
      {rest.map(([key, value]) => (
        <div key={key} className="meta-pair">
          <dt>{key.replace(/_/g, ' ')}</dt>
          <dd>
            <Value value={value} />
          </dd>
        </div>
      ))}
    </dl>
  );
}
