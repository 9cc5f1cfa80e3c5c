import { useMemo, useState, type ReactNode } from 'react';
import { ErrorMessage } from '@/components/error-message';
import { Field } from '@/components/field';
import { FieldError } from '@/components/field-error';
import { RadioChoices } from '@/components/radio-choices';
import { isApiError } from '@/lib/api-error';
import { fieldErrors } from '@/lib/field-errors';
import { useGroupOptions, useSemanticCategoryOptions, useSucceededClusterRunOptions } from '@/lib/options';
import { useDebouncedValue } from '@/utils/use-debounced-value';
import { useBuildDataset, usePreview, useUpdateDataset } from '../api/datasets';
import type { Dataset, RecipeInput, SplitBy } from '../api/schemas';
import { builderErrors, formFromRecipe, newGroupRow, toRecipe, type RecipeForm } from '../lib/recipe';
import { PreviewPanel } from './preview-panel';

/** How long the builder waits after the last keystroke before it asks for a new estimate. */
export const PREVIEW_DEBOUNCE_MS = 400;

const SPLITS = [
  ['slide', 'By slide'],
  ['case', 'By case'],
] as const;

/** Fields the builder shows a message under; the rest go into the general error line. */
const SHOWN = ['name', 'cluster_run', 'groups', 'categories', 'include_unreviewed', 'budget', 'per_slide_cap', 'quality', 'split', 'seed'];

type TextField = 'budget' | 'per_slide_cap' | 'min_tissue_fraction' | 'min_sharpness' | 'max_pen_score' | 'validation_fraction' | 'seed';

interface Props {
  dataset: Dataset;
  canEdit: boolean;
}

/**
 * A draft version's recipe: the cluster run, slide groups and semantic categories with weights,
 * the budget and filters, the split and the seed; a live estimate of what it gives; Save and Build.
 */
export function DatasetBuilder({ dataset, canEdit }: Props) {
  const runs = useSucceededClusterRunOptions();
  const groups = useGroupOptions(true);
  const categories = useSemanticCategoryOptions();
  const update = useUpdateDataset();
  const build = useBuildDataset();

  const [name, setName] = useState(dataset.name);
  const [clusterRun, setClusterRun] = useState(dataset.cluster_run === null ? '' : String(dataset.cluster_run));
  const [form, setForm] = useState<RecipeForm>(() => formFromRecipe(dataset.recipe));
  const [dirty, setDirty] = useState(false);
  const [saved, setSaved] = useState(false);
  const [refusal, setRefusal] = useState<string | null>(null);

  const categoryList = useMemo(() => categories.data ?? [], [categories.data]);
  const categoryOrder = useMemo(() => categoryList.map((c) => c.id), [categoryList]);
  const { recipe, valid } = toRecipe(form, categoryOrder);

  // Debounce the JSON text: a string compares by value, so re-renders do not restart the wait.
  const recipeText = valid && clusterRun !== '' ? JSON.stringify(recipe) : null;
  const debouncedText = useDebouncedValue(recipeText, PREVIEW_DEBOUNCE_MS);
  const previewRecipe = useMemo(() => (debouncedText ? (JSON.parse(debouncedText) as RecipeInput) : null), [debouncedText]);
  const preview = usePreview(dataset.id, dataset.cluster_run, previewRecipe);

  const failure = update.error ?? build.error;
  const errors = builderErrors(failure, fieldErrors(failure));
  const unshown = Object.keys(errors).filter((k) => !SHOWN.some((f) => k === f || k.startsWith(`${f}.`)));

  const change = (next: Partial<RecipeForm>) => {
    setForm((prev) => ({ ...prev, ...next }));
    setDirty(true);
    setSaved(false);
  };
  const setText = (key: TextField) => (e: React.ChangeEvent<HTMLInputElement>) => change({ [key]: e.target.value } as Partial<RecipeForm>);

  const patch = (withRecipe: RecipeInput) => ({
    name: name.trim(),
    cluster_run: clusterRun === '' ? undefined : Number(clusterRun),
    recipe: withRecipe,
  });

  const save = async (withRecipe: RecipeInput = recipe) => {
    build.reset();
    await update.mutateAsync({ id: dataset.id, patch: patch(withRecipe) });
    setDirty(false);
    setSaved(true);
  };

  /** Save what is on screen, then build; a refusal over unreviewed clusters offers to include them. */
  const startBuild = async (withRecipe: RecipeInput = recipe) => {
    setRefusal(null);
    try {
      await save(withRecipe);
      await build.mutateAsync(dataset.id);
    } catch (err) {
      if (isApiError(err, 409) && err.code === 'unreviewed') setRefusal(err.message);
    }
  };

  const includeAndBuild = () => {
    const next = { ...recipe, include_unreviewed: true };
    setForm((prev) => ({ ...prev, include_unreviewed: true }));
    void startBuild(next);
  };

  const changeRun = (value: string) => {
    setClusterRun(value);
    if (value !== '') update.mutate({ id: dataset.id, patch: { cluster_run: Number(value) } });
  };

  const groupName = (id: string) => groups.data?.find((g) => String(g.id) === id)?.name ?? `group #${id}`;
  const usedGroups = new Set(form.groups.map((g) => g.group));
  const addGroup = () => {
    const free = (groups.data ?? []).find((g) => !usedGroups.has(String(g.id)));
    change({ groups: [...form.groups, newGroupRow(free ? String(free.id) : '', String(free?.weight ?? 1))] });
  };
  // A row's index among the rows sent (rows without a group are not sent), for its field messages.
  let sentIndex = -1;

  const numberField = (key: TextField, errorName: string, label: ReactNode, opts: { step?: string; placeholder?: string } = {}) => (
    <Field label={label} errors={errors} name={errorName}>
      <input
        type="number"
        step={opts.step ?? 'any'}
        value={form[key]}
        placeholder={opts.placeholder}
        onChange={setText(key)}
        aria-invalid={errors[errorName] ? true : undefined}
      />
    </Field>
  );

  const busy = update.isPending || build.isPending;

  return (
    <div className="builder-layout">
      <form
        className="builder-form"
        aria-label="Recipe"
        onSubmit={(e) => {
          e.preventDefault();
          void save().catch(() => undefined);
        }}
      >
        <fieldset disabled={!canEdit} className="plain-fieldset">
          <section className="builder-section">
            <div className="form-row">
              <Field label="Name" errors={errors} name="name" grow>
                <input
                  value={name}
                  onChange={(e) => {
                    setName(e.target.value);
                    setDirty(true);
                    setSaved(false);
                  }}
                  required
                />
              </Field>
              <Field label="Cluster run" errors={errors} name="cluster_run" grow>
                <select value={clusterRun} onChange={(e) => changeRun(e.target.value)} required>
                  <option value="">Choose a finished run…</option>
                  {(runs.data ?? []).map((run) => (
                    <option key={run.id} value={String(run.id)}>
                      #{run.id} {run.name}
                      {run.review ? ` (${run.review.reviewed}/${run.review.total} reviewed)` : ''}
                    </option>
                  ))}
                  {dataset.cluster_run !== null && !(runs.data ?? []).some((r) => r.id === dataset.cluster_run) && (
                    <option value={String(dataset.cluster_run)}>
                      #{dataset.cluster_run} {dataset.cluster_run_name}
                    </option>
                  )}
                </select>
              </Field>
            </div>
          </section>

          <section className="builder-section" aria-label="Slide groups">
            <h3>Slide groups</h3>
            <p className="muted small">Tiles are split over groups by weight; a slide counts for the first group (in this order) it belongs to.</p>
            <table className="data-table compact weights-table">
              <thead>
                <tr>
                  <th>Group</th>
                  <th className="num">Weight</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {form.groups.map((row, i) => {
                  if (row.group !== '') sentIndex += 1;
                  const index = row.group !== '' ? sentIndex : -1;
                  return (
                    <tr key={row.key} data-testid="group-weight-row">
                      <td>
                        <select
                          aria-label={`Group ${i + 1}`}
                          value={row.group}
                          onChange={(e) => change({ groups: form.groups.map((g) => (g.key === row.key ? { ...g, group: e.target.value } : g)) })}
                        >
                          <option value="">Choose a group…</option>
                          {(groups.data ?? [])
                            .filter((g) => String(g.id) === row.group || !usedGroups.has(String(g.id)))
                            .map((g) => (
                              <option key={g.id} value={String(g.id)}>
                                {g.name}
                                {g.slide_count !== undefined ? ` (${g.slide_count} slides)` : ''}
                              </option>
                            ))}
                        </select>
                        {index >= 0 && <FieldError errors={errors} name={`groups.${index}.group`} />}
                      </td>
                      <td className="num">
                        <input
                          type="number"
                          step="any"
                          className="narrow"
                          aria-label={`Weight of ${row.group ? groupName(row.group) : `group ${i + 1}`}`}
                          value={row.weight}
                          onChange={(e) => change({ groups: form.groups.map((g) => (g.key === row.key ? { ...g, weight: e.target.value } : g)) })}
                        />
                        {index >= 0 && <FieldError errors={errors} name={`groups.${index}.weight`} />}
                      </td>
                      <td className="row-actions">
                        <button
                          type="button"
                          className="btn btn-small"
                          aria-label={`Remove ${row.group ? groupName(row.group) : `group ${i + 1}`}`}
                          onClick={() => change({ groups: form.groups.filter((g) => g.key !== row.key) })}
                        >
                          Remove
                        </button>
                      </td>
                    </tr>
                  );
                })}
                {form.groups.length === 0 && (
                  <tr>
                    <td colSpan={3} className="muted">
                      No groups: add at least one.
                    </td>
                  </tr>
                )}
              </tbody>
            </table>
            <FieldError errors={errors} name="groups" />
            <button type="button" className="btn btn-small" onClick={addGroup} disabled={(groups.data ?? []).length <= form.groups.length}>
              Add group
            </button>
            {groups.isError && <ErrorMessage error={groups.error} />}
          </section>

          <section className="builder-section" aria-label="Semantic categories">
            <h3>Semantic categories</h3>
            <p className="muted small">Within a group, tiles are split over the included categories by weight; an empty weight is the category’s default.</p>
            <table className="data-table compact weights-table">
              <thead>
                <tr>
                  <th>Include</th>
                  <th className="num">Weight</th>
                </tr>
              </thead>
              <tbody>
                {categoryList.map((cat) => {
                  const row = form.categories[cat.id] ?? { include: false, weight: '' };
                  const setRow = (next: Partial<typeof row>) => change({ categories: { ...form.categories, [cat.id]: { ...row, ...next } } });
                  const index = recipe.categories.findIndex((c) => c.category === cat.id);
                  return (
                    <tr key={cat.id} data-testid="category-weight-row" className={row.include ? undefined : 'is-inactive'}>
                      <td>
                        <label className="check">
                          <input type="checkbox" checked={row.include} onChange={(e) => setRow({ include: e.target.checked })} />
                          {cat.colour && <span className="swatch" style={{ background: cat.colour }} />}
                          {cat.name}
                        </label>
                      </td>
                      <td className="num">
                        <input
                          type="number"
                          step="any"
                          className="narrow"
                          aria-label={`Weight of ${cat.name}`}
                          value={row.weight}
                          placeholder={cat.default_weight === null || cat.default_weight === undefined ? '' : String(cat.default_weight)}
                          disabled={!row.include}
                          onChange={(e) => setRow({ weight: e.target.value })}
                        />
                        {index >= 0 && <FieldError errors={errors} name={`categories.${index}.weight`} />}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
            <div className="form-actions">
              <button
                type="button"
                className="btn btn-small"
                onClick={() => change({ categories: Object.fromEntries(categoryList.map((c) => [c.id, { include: true, weight: form.categories[c.id]?.weight ?? '' }])) })}
              >
                Tick all
              </button>
              <button
                type="button"
                className="btn btn-small"
                onClick={() => change({ categories: Object.fromEntries(categoryList.map((c) => [c.id, { include: false, weight: form.categories[c.id]?.weight ?? '' }])) })}
              >
                Untick all
              </button>
            </div>
            {recipe.categories.length === 0 && categoryList.length > 0 && (
              <p className="muted small" data-testid="all-categories-note">
                None ticked: every category with an accepted cluster in the run, each at its default weight.
              </p>
            )}
            <FieldError errors={errors} name="categories" />
            {categories.isError && <ErrorMessage error={categories.error} />}
            <label className="check">
              <input type="checkbox" checked={form.include_unreviewed} onChange={(e) => change({ include_unreviewed: e.target.checked })} />
              Include unreviewed clusters
            </label>
            {form.include_unreviewed && (
              <p className="warning-box" role="note">
                Tiles of clusters no pathologist has looked at go in as the category “unreviewed”: background, pen and artefacts among them.
              </p>
            )}
            <FieldError errors={errors} name="include_unreviewed" />
          </section>

          <section className="builder-section" aria-label="Sampling">
            <h3>Sampling</h3>
            <div className="form-row">
              {numberField('budget', 'budget', 'Budget (tiles)', { step: '1' })}
              {numberField('per_slide_cap', 'per_slide_cap', 'Per-slide cap', { step: '1', placeholder: 'none' })}
              {numberField('seed', 'seed', 'Seed', { step: '1' })}
            </div>
            <h3>Quality filters</h3>
            <div className="form-row">
              {numberField('min_tissue_fraction', 'quality.min_tissue_fraction', 'Min tissue fraction', {})}
              {numberField('min_sharpness', 'quality.min_sharpness', 'Min sharpness', { placeholder: 'none' })}
              {numberField('max_pen_score', 'quality.max_pen_score', 'Max pen score', { placeholder: 'none' })}
            </div>
            <FieldError errors={errors} name="quality" />
            <h3>Split</h3>
            <div className="form-row">
              <RadioChoices label="Split" name="split-by" value={form.split_by} onChange={(v: SplitBy) => change({ split_by: v })} choices={SPLITS}>
                <FieldError errors={errors} name="split.by" />
              </RadioChoices>
              {numberField('validation_fraction', 'split.validation_fraction', 'Validation fraction', {})}
            </div>
            <FieldError errors={errors} name="split" />
          </section>
        </fieldset>

        {canEdit && (
          <div className="builder-actions">
            <button type="submit" className="btn" disabled={busy}>
              {update.isPending ? 'Saving…' : 'Save'}
            </button>
            <button type="button" className="btn btn-primary" disabled={busy || clusterRun === ''} onClick={() => void startBuild()}>
              {build.isPending ? 'Starting…' : 'Build'}
            </button>
            <span className="save-status" data-state={update.isError ? 'error' : saved ? 'saved' : 'idle'} role="status">
              {dirty ? 'Unsaved changes' : saved ? 'Saved' : ''}
            </span>
          </div>
        )}
        {refusal && (
          <div className="review-problem" data-testid="build-refused" role="alert">
            <p>{refusal}</p>
            <button type="button" className="btn btn-small" onClick={includeAndBuild} disabled={busy}>
              Include unreviewed clusters and build
            </button>
          </div>
        )}
        {failure && !refusal && (Object.keys(errors).length === 0 || unshown.length > 0) && <ErrorMessage error={failure} />}
        {failure && !refusal && Object.keys(errors).length > 0 && unshown.length === 0 && (
          <span className="error-text" role="status">
            The server refused the recipe: see the marked field{Object.keys(errors).length === 1 ? '' : 's'}.
          </span>
        )}
      </form>
      <PreviewPanel
        preview={preview.data}
        error={preview.isError ? preview.error : null}
        updating={preview.isFetching || (recipeText !== null && recipeText !== debouncedText)}
        incomplete={!valid}
        includeUnreviewed={form.include_unreviewed}
        categories={categoryList}
      />
    </div>
  );
}
