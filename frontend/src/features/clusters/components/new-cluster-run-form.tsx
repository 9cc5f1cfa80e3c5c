import { useState, type FormEvent, type ReactNode } from 'react';
import { Link } from 'react-router-dom';
import { ErrorMessage } from '@/components/error-message';
import { GroupSelect } from '@/components/group-select';
import { RadioChoices } from '@/components/radio-choices';
import { paths } from '@/config/paths';
import { useGroupOptions, useTilingConfigOptions } from '@/lib/options';
import { useStartClusterRun, type NewClusterRun } from '../api/runs';
import { useBackboneRuns } from '../api/training-backbones';
import { fieldErrors } from '../lib/field-errors';
import { Field } from './field';
import { FieldError } from './field-error';

type Target = 'all' | 'group' | 'slides';

const TARGETS = [
  ['all', 'All tiled slides'],
  ['group', 'A group'],
  ['slides', 'Slide ids'],
] as const;

const FEATURE_KINDS = [
  ['colour', 'Colour features'],
  ['embedding', 'Deep embeddings'],
] as const;

const MODEL_SOURCES = [
  ['timm', 'A timm model'],
  ['training_run', 'Backbone from a training run'],
] as const;
type ModelSource = (typeof MODEL_SOURCES)[number][0];

const NUMBER_DEFAULTS = { per_slide: '500', k: '100', iterations: '25', restarts: '1', seed: '0' };
type NumberField = keyof typeof NUMBER_DEFAULTS;

/** Fields this form shows a message under; anything else goes into the general error line. */
const SHOWN_FIELDS = [
  'name',
  'config',
  'feature_kind',
  'embedding_model',
  'embedding_model.name',
  'embedding_model.weights',
  'embedding_model.image_size',
  'embedding_model.training_run',
  'k',
  'per_slide',
  'iterations',
  'restarts',
  'spherical',
  'method',
  'levels',
  'seed',
  'slides',
  'group',
];

/** "12, 15 18" → [12, 15, 18]; anything not a number is kept as NaN for the server to refuse. */
function numberList(text: string): number[] {
  return text
    .split(/[\s,;]+/)
    .filter(Boolean)
    .map(Number);
}

/** Launch a cluster run (admin). Every parameter the library takes, with the paper's defaults. */
export function NewClusterRunForm() {
  const configs = useTilingConfigOptions();
  const [name, setName] = useState('');
  const [configId, setConfigId] = useState('');
  const [kind, setKind] = useState<'colour' | 'embedding'>('colour');
  const [model, setModel] = useState({ name: 'vit_small_patch14_reg4_dinov2', weights: '', image_size: '' });
  const [source, setSource] = useState<ModelSource>('timm');
  const [trainingRun, setTrainingRun] = useState('');
  const [numbers, setNumbers] = useState(NUMBER_DEFAULTS);
  const [spherical, setSpherical] = useState(false);
  const [method, setMethod] = useState<'flat' | 'hierarchical'>('flat');
  const [levels, setLevels] = useState('');
  const [target, setTarget] = useState<Target>('all');
  const [groupId, setGroupId] = useState('');
  const [slideIds, setSlideIds] = useState('');
  const groups = useGroupOptions(target === 'group');
  const backbones = useBackboneRuns(kind === 'embedding' && source === 'training_run');
  const start = useStartClusterRun();

  const errors = fieldErrors(start.error);
  const unshown = Object.keys(errors).filter((k) => !SHOWN_FIELDS.some((f) => k === f || k.startsWith(`${f}.`)));
  const setNumber = (key: NumberField) => (e: React.ChangeEvent<HTMLInputElement>) => setNumbers((prev) => ({ ...prev, [key]: e.target.value }));

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const body: NewClusterRun = {
      name: name.trim(),
      config: Number(configId),
      feature_kind: kind,
      embedding_model:
        kind !== 'embedding'
          ? null
          : source === 'training_run'
            ? { training_run: Number(trainingRun) }
            : { name: model.name.trim(), weights: model.weights.trim() || null, image_size: model.image_size.trim() ? Number(model.image_size) : null },
      k: Number(numbers.k),
      per_slide: Number(numbers.per_slide),
      iterations: Number(numbers.iterations),
      restarts: Number(numbers.restarts),
      spherical,
      method,
      levels: method === 'hierarchical' ? numberList(levels) : [],
      seed: Number(numbers.seed),
      slides: target === 'slides' ? numberList(slideIds) : [],
      group: target === 'group' && groupId ? Number(groupId) : null,
    };
    start.mutate(body);
  };

  const numberInput = (key: NumberField, label: ReactNode) => (
    <Field label={label} errors={errors} name={key}>
      <input type="number" step={1} value={numbers[key]} onChange={setNumber(key)} required aria-invalid={errors[key] ? true : undefined} />
    </Field>
  );

  return (
    <form className="inline-form cluster-run-form" onSubmit={submit} aria-label="New cluster run">
      <h2 className="form-title">New cluster run</h2>
      <Field label="Name" errors={errors} name="name" grow>
        <input value={name} onChange={(e) => setName(e.target.value)} required placeholder="Colour k=100" aria-invalid={errors.name ? true : undefined} />
      </Field>
      <Field label="Tiling configuration" errors={errors} name="config">
        <select aria-label="Tiling configuration" value={configId} onChange={(e) => setConfigId(e.target.value)} required>
          <option value="">Choose a configuration…</option>
          {(configs.data ?? []).map((c) => (
            <option key={c.id} value={String(c.id)}>
              {c.name}
            </option>
          ))}
        </select>
      </Field>
      <RadioChoices label="Features" name="feature-kind" value={kind} onChange={setKind} choices={FEATURE_KINDS}>
        <FieldError errors={errors} name="feature_kind" />
      </RadioChoices>
      {kind === 'embedding' && (
        <RadioChoices label="Embedding model" name="model-source" value={source} onChange={setSource} choices={MODEL_SOURCES} />
      )}
      {kind === 'embedding' && source === 'training_run' && (
        <div className="form-row">
          <Field label="Training run" errors={errors} name="embedding_model.training_run" grow>
            <select value={trainingRun} onChange={(e) => setTrainingRun(e.target.value)} required>
              <option value="">Choose a run with an exported backbone…</option>
              {(backbones.data ?? []).map((r) => (
                <option key={r.id} value={String(r.id)}>
                  #{r.id} {r.name} ({r.model}, step {r.step}, {r.status})
                </option>
              ))}
            </select>
          </Field>
          <FieldError errors={errors} name="embedding_model" />
          {backbones.isSuccess && backbones.data.length === 0 && <span className="muted">No training run has exported a backbone yet.</span>}
          {backbones.isError && <ErrorMessage error={backbones.error} />}
        </div>
      )}
      {kind === 'embedding' && source === 'timm' && (
        <div className="form-row">
          <div className="field-stack grow">
            <label>
              timm model name
              <input value={model.name} onChange={(e) => setModel({ ...model, name: e.target.value })} required />
            </label>
            <FieldError errors={errors} name="embedding_model.name" />
            <FieldError errors={errors} name="embedding_model" />
          </div>
          <Field label="Local weights path" errors={errors} name="embedding_model.weights" grow>
            <input value={model.weights} onChange={(e) => setModel({ ...model, weights: e.target.value })} placeholder="/models/dinov2.safetensors" />
          </Field>
          <Field label="Image size (px)" errors={errors} name="embedding_model.image_size">
            <input type="number" step={1} value={model.image_size} onChange={(e) => setModel({ ...model, image_size: e.target.value })} placeholder="model default" />
          </Field>
        </div>
      )}
      <div className="form-row">
        {numberInput('per_slide', 'Tiles per slide')}
        {numberInput('k', 'k (clusters)')}
        {numberInput('iterations', 'Iterations')}
        {numberInput('restarts', 'Restarts')}
        {numberInput('seed', 'Seed')}
        <label className="check">
          <input type="checkbox" checked={spherical} onChange={(e) => setSpherical(e.target.checked)} />
          Spherical (cosine)
        </label>
        <Field label="Method" errors={errors} name="method">
          <select aria-label="Method" value={method} onChange={(e) => setMethod(e.target.value as 'flat' | 'hierarchical')}>
            <option value="flat">flat</option>
            <option value="hierarchical">hierarchical</option>
          </select>
        </Field>
        {method === 'hierarchical' && (
          <Field label="Levels" errors={errors} name="levels" nested>
            <input value={levels} onChange={(e) => setLevels(e.target.value)} placeholder="finer levels before k, e.g. 1000" aria-invalid={errors.levels ? true : undefined} />
          </Field>
        )}
      </div>
      <div className="form-row">
        <RadioChoices label="Slides to cluster" name="cluster-target" value={target} onChange={setTarget} choices={TARGETS} />
        {target === 'group' && (
          <Field label="Group" errors={errors} name="group">
            <GroupSelect groups={groups.data ?? []} value={groupId} onChange={setGroupId} required />
          </Field>
        )}
        {target === 'slides' && (
          <Field label="Slide ids" errors={errors} name="slides" nested grow>
            <input value={slideIds} onChange={(e) => setSlideIds(e.target.value)} placeholder="12, 15, 18" required />
          </Field>
        )}
        <span className="spacer" />
        <button type="submit" className="btn btn-primary" disabled={start.isPending}>
          {start.isPending ? 'Starting…' : 'Start cluster run'}
        </button>
      </div>
      {configs.isError && <ErrorMessage error={configs.error} />}
      {groups.isError && <ErrorMessage error={groups.error} />}
      {start.isError && (Object.keys(errors).length === 0 || unshown.length > 0) && <ErrorMessage error={start.error} />}
      {start.isError && Object.keys(errors).length > 0 && unshown.length === 0 && (
        <span className="error-text" role="status">
          The server refused the run: see the marked fields.
        </span>
      )}
      {start.isSuccess && (
        <span className="ok-message" role="status">
          Run <Link to={paths.clusterRun(start.data.id)}>#{start.data.id}</Link> queued.
        </span>
      )}
    </form>
  );
}
