import type { Recipe, RecipeInput, SplitBy } from '../api/schemas';

/**
 * The builder's form: every number as the text in its input (so half-typed values survive),
 * converted to the API's recipe JSON by `toRecipe`.
 */
export interface GroupRow {
  /** Stable React key for the row. */
  key: number;
  /** Group id as a string, '' until one is chosen. */
  group: string;
  weight: string;
}

export interface CategoryRow {
  include: boolean;
  /** '' = the category's default weight (sent as null). */
  weight: string;
}

export interface RecipeForm {
  groups: GroupRow[];
  categories: Record<number, CategoryRow>;
  include_unreviewed: boolean;
  budget: string;
  per_slide_cap: string;
  min_tissue_fraction: string;
  min_sharpness: string;
  max_pen_score: string;
  split_by: SplitBy;
  validation_fraction: string;
  seed: string;
}

let nextRowKey = 1;
export function newGroupRow(group = '', weight = '1'): GroupRow {
  nextRowKey += 1;
  return { key: nextRowKey, group, weight };
}

const text = (v: number | null | undefined) => (v === null || v === undefined ? '' : String(v));

export function formFromRecipe(recipe: Recipe): RecipeForm {
  const categories: Record<number, CategoryRow> = {};
  for (const c of recipe.categories) categories[c.category] = { include: true, weight: text(c.weight) };
  return {
    groups: recipe.groups.map((g) => newGroupRow(String(g.group), String(g.weight))),
    categories,
    include_unreviewed: recipe.include_unreviewed,
    budget: text(recipe.budget),
    per_slide_cap: text(recipe.per_slide_cap),
    min_tissue_fraction: text(recipe.quality.min_tissue_fraction),
    min_sharpness: text(recipe.quality.min_sharpness),
    max_pen_score: text(recipe.quality.max_pen_score),
    split_by: recipe.split.by,
    validation_fraction: text(recipe.split.validation_fraction),
    seed: text(recipe.seed),
  };
}

/** '' → null; anything else its number (NaN when it is not one). */
function optional(value: string): number | null {
  return value.trim() === '' ? null : Number(value);
}

/**
 * The recipe JSON for the form, categories in `categoryOrder`. `valid` is false while a number
 * is missing or not a number, or a group row has no group: the preview waits for a whole recipe,
 * a save sends it anyway and shows what the server says.
 */
export function toRecipe(form: RecipeForm, categoryOrder: number[]): { recipe: RecipeInput; valid: boolean } {
  const required = (value: string) => (value.trim() === '' ? Number.NaN : Number(value));
  const known = new Set(categoryOrder);
  const ids = [...categoryOrder, ...Object.keys(form.categories).map(Number).filter((id) => !known.has(id))];
  const recipe: RecipeInput = {
    groups: form.groups.filter((g) => g.group !== '').map((g) => ({ group: Number(g.group), weight: required(g.weight) })),
    categories: ids.filter((id) => form.categories[id]?.include).map((id) => ({ category: id, weight: optional(form.categories[id].weight) })),
    include_unreviewed: form.include_unreviewed,
    budget: required(form.budget),
    per_slide_cap: optional(form.per_slide_cap),
    quality: {
      min_tissue_fraction: required(form.min_tissue_fraction),
      min_sharpness: optional(form.min_sharpness),
      max_pen_score: optional(form.max_pen_score),
    },
    split: { by: form.split_by, validation_fraction: required(form.validation_fraction) },
    seed: required(form.seed),
  };
  const numbers = [
    ...recipe.groups.map((g) => g.weight),
    ...recipe.categories.map((c) => c.weight),
    recipe.budget,
    recipe.per_slide_cap,
    recipe.quality.min_tissue_fraction,
    recipe.quality.min_sharpness,
    recipe.quality.max_pen_score,
    recipe.split.validation_fraction,
    recipe.seed,
  ];
  const valid = numbers.every((n) => n === null || Number.isFinite(n)) && form.groups.every((g) => g.group !== '');
  return { recipe, valid };
}

/**
 * A sensible first recipe for a new version: every group at its own weight, and no category
 * list, which the server reads as every category an accepted cluster has, at its default weight.
 */
export function defaultRecipe(groups: Array<{ id: number; weight?: number | null }>): RecipeInput {
  return {
    groups: groups.map((g) => ({ group: g.id, weight: g.weight ?? 1 })),
    categories: [],
    include_unreviewed: false,
    budget: 100000,
    per_slide_cap: 2000,
    quality: { min_tissue_fraction: 0.5, min_sharpness: null, max_pen_score: null },
    split: { by: 'slide', validation_fraction: 0.1 },
    seed: 0,
  };
}

/**
 * Field messages keyed for the form: a nested `recipe` error (`recipe.quality.min_sharpness`)
 * loses its `recipe.` prefix, so the builder asks for `quality.min_sharpness`.
 */
export function recipeErrors(errors: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, message] of Object.entries(errors)) {
    const short = key.startsWith('recipe.') ? key.slice('recipe.'.length) : key;
    out[short] = out[short] ? `${out[short]} ${message}` : message;
  }
  return out;
}

/** Where a recipe refusal's sentence points (the server names the field at its start). */
const MESSAGE_FIELDS: Array<[RegExp, (m: RegExpExecArray) => string]> = [
  [/^(groups|categories)\[(\d+)\]\.(\w+)/, (m) => `${m[1]}.${m[2]}.${m[3]}`],
  [/^(quality\.\w+|split\.\w+)\b/, (m) => m[1]],
  [/^(budget|per_slide_cap|seed|include_unreviewed|groups|categories|quality|split)\b/, (m) => m[1]],
  [/^No slide group\b|slide group\b|group weights\b/i, () => 'groups'],
  [/^No semantic category\b|chosen category|category weights\b/i, () => 'categories'],
];

const CODE_FIELDS: Record<string, string> = {
  unknown_group: 'groups',
  no_groups: 'groups',
  unknown_category: 'categories',
  no_categories: 'categories',
  run_not_ready: 'cluster_run',
};

/**
 * The builder's field messages for a refused save or build: the serializer's `fields` when it
 * sends them, else the service's one sentence placed by the field it names ("budget must be at
 * least 1." goes under Budget). Unplaced sentences stay out: the page shows them as a whole.
 */
export function builderErrors(error: unknown, fromFields: Record<string, string>): Record<string, string> {
  const out = recipeErrors(fromFields);
  if (Object.keys(out).length > 0 || !error || typeof error !== 'object') return out;
  const { status, code, message } = error as { status?: number; code?: string; message?: string };
  if (status !== 400 || !message) return out;
  if (code === 'invalid' && /\bname\b/i.test(message)) return { name: message };
  if (code && CODE_FIELDS[code]) return { [CODE_FIELDS[code]]: message };
  for (const [pattern, field] of MESSAGE_FIELDS) {
    const m = pattern.exec(message);
    if (m) return { [field(m)]: message };
  }
  return out;
}
