import { useState, type FormEvent } from 'react';
import { useNavigate } from 'react-router-dom';
import { ErrorMessage } from '@/components/error-message';
import { Field } from '@/components/field';
import { FieldError } from '@/components/field-error';
import { paths } from '@/config/paths';
import { useDatasets } from '@/features/datasets/api/datasets';
import { fieldErrors } from '@/lib/field-errors';
import { OVERRIDE_FIELDS, usePresets, useStartTrainingRun, type NewTrainingRun, type OverrideField } from '../api/training';
import type { Preset } from '../api/schemas';
import { formatRecipeValue } from '../lib/format';

const OVERRIDE_LABELS: Record<OverrideField, string> = {
  total_steps: 'Total steps',
  batch_size: 'Batch size',
  checkpoint_every: 'Checkpoint every',
  eval_every: 'Evaluate every',
};

/** The recipe values worth seeing before choosing a preset. */
const KEY_RECIPE_FIELDS = [
  'model',
  'batch_size',
  'total_steps',
  'lr',
  'global_crops_size',
  'local_crops_number',
  'local_crops_size',
  'prototypes',
  'checkpoint_every',
  'eval_every',
] as const;

/** Fields this form shows a message under; anything else goes into the general error line. */
const SHOWN_FIELDS = ['name', 'dataset_version', 'preset', 'model', 'weights', 'overrides', 'eval_folder'];

const EMPTY_OVERRIDES: Record<OverrideField, string> = { total_steps: '', batch_size: '', checkpoint_every: '', eval_every: '' };

function PresetSummary({ preset }: { preset: Preset }) {
  return (
    <div className="run-summary" data-testid="preset-summary" style={{ flexBasis: '100%', maxWidth: 'none' }}>
      {preset.description && <span>{preset.description}</span>}
      <dl className="meta-list wide">
        {KEY_RECIPE_FIELDS.filter((key) => key in preset.recipe).map((key) => (
          <div className="meta-pair" key={key}>
            <dt>{key}</dt>
            <dd data-testid={`preset-${key}`}>{formatRecipeValue(preset.recipe[key])}</dd>
          </div>
        ))}
      </dl>
    </div>
  );
}

/** Launch a training run (admin): a built dataset version, a preset, and a few overrides. */
export function NewTrainingRunForm() {
  const datasets = useDatasets();
  const presets = usePresets();
  const start = useStartTrainingRun();
  const navigate = useNavigate();
  const [name, setName] = useState('');
  const [version, setVersion] = useState('');
  const [presetName, setPresetName] = useState('');
  /** null: follow the preset's model. */
  const [model, setModel] = useState<string | null>(null);
  const [weights, setWeights] = useState('');
  const [overrides, setOverrides] = useState(EMPTY_OVERRIDES);
  const [evalFolder, setEvalFolder] = useState('');

  const built = (datasets.data ?? []).filter((d) => d.status === 'built');
  const preset = presets.data?.find((p) => p.name === presetName) ?? null;
  const presetModel = typeof preset?.recipe.model === 'string' ? preset.recipe.model : '';
  const modelValue = model ?? presetModel;
  const errors = fieldErrors(start.error);
  const unshown = Object.keys(errors).filter((k) => !SHOWN_FIELDS.some((f) => k === f || k.startsWith(`${f}.`)));

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const body: NewTrainingRun = { name: name.trim(), dataset_version: Number(version), preset: presetName };
    if (modelValue.trim()) body.model = modelValue.trim();
    if (weights.trim()) body.weights = weights.trim();
    const chosen: Partial<Record<OverrideField, number>> = {};
    for (const key of OVERRIDE_FIELDS) if (overrides[key].trim() !== '') chosen[key] = Number(overrides[key]);
    if (Object.keys(chosen).length > 0) body.overrides = chosen;
    if (evalFolder.trim()) body.eval_folder = evalFolder.trim();
    start.mutate(body, { onSuccess: (run) => navigate(paths.trainingRun(run.id)) });
  };

  return (
    <form className="inline-form" onSubmit={submit} aria-label="New training run">
      <h2 className="form-title">New training run</h2>
      <Field label="Name" errors={errors} name="name" grow>
        <input value={name} onChange={(e) => setName(e.target.value)} required placeholder="ViT-S colon v1" aria-invalid={errors.name ? true : undefined} />
      </Field>
      <Field label="Dataset version" errors={errors} name="dataset_version">
        <select value={version} onChange={(e) => setVersion(e.target.value)} required aria-invalid={errors.dataset_version ? true : undefined}>
          <option value="">Choose a built version…</option>
          {built.map((d) => (
            <option key={d.id} value={String(d.id)}>
              #{d.id} {d.name} ({d.row_count.toLocaleString('en-US')} tiles)
            </option>
          ))}
        </select>
      </Field>
      <Field label="Preset" errors={errors} name="preset">
        <select
          value={presetName}
          onChange={(e) => {
            setPresetName(e.target.value);
            setModel(null);
          }}
          required
          aria-invalid={errors.preset ? true : undefined}
        >
          <option value="">Choose a preset…</option>
          {(presets.data ?? []).map((p) => (
            <option key={p.name} value={p.name} title={p.description}>
              {p.name}
            </option>
          ))}
        </select>
      </Field>
      {preset && <PresetSummary preset={preset} />}
      <div className="form-row">
        <Field label="Model (timm name)" errors={errors} name="model" grow>
          <input value={modelValue} onChange={(e) => setModel(e.target.value)} placeholder="the preset's model" aria-invalid={errors.model ? true : undefined} />
        </Field>
        <Field label="Initial weights path" errors={errors} name="weights" grow>
          <input value={weights} onChange={(e) => setWeights(e.target.value)} placeholder="optional: /models/dinov2.safetensors" />
        </Field>
      </div>
      <fieldset className="plain-fieldset form-row" aria-label="Overrides">
        {OVERRIDE_FIELDS.map((key) => (
          <Field key={key} label={OVERRIDE_LABELS[key]} errors={errors} name={`overrides.${key}`}>
            <input
              type="number"
              step={1}
              min={0}
              value={overrides[key]}
              onChange={(e) => setOverrides((prev) => ({ ...prev, [key]: e.target.value }))}
              placeholder={preset && preset.recipe[key] !== undefined ? formatRecipeValue(preset.recipe[key]) : 'preset'}
              aria-invalid={errors[`overrides.${key}`] ? true : undefined}
            />
          </Field>
        ))}
        <FieldError errors={errors} name="overrides" />
      </fieldset>
      <div className="form-row">
        <Field label="Evaluation folder" errors={errors} name="eval_folder" grow>
          <input value={evalFolder} onChange={(e) => setEvalFolder(e.target.value)} placeholder="optional: labelled tiles for kNN / linear probe" />
        </Field>
        <span className="spacer" />
        <button type="submit" className="btn btn-primary" disabled={start.isPending}>
          {start.isPending ? 'Starting…' : 'Start training'}
        </button>
      </div>
      {datasets.isSuccess && built.length === 0 && <span className="muted">No built dataset version yet: a run trains on one.</span>}
      {datasets.isError && <ErrorMessage error={datasets.error} />}
      {presets.isError && <ErrorMessage error={presets.error} />}
      {start.isError && (Object.keys(errors).length === 0 || unshown.length > 0) && <ErrorMessage error={start.error} />}
      {start.isError && Object.keys(errors).length > 0 && unshown.length === 0 && (
        <span className="error-text" role="status">
          The server refused the run: see the marked fields.
        </span>
      )}
    </form>
  );
}
