import { useState, type FormEvent, type ReactNode } from 'react';
import { Link } from 'react-router-dom';
import { ErrorMessage } from '@/components/error-message';
import { paths } from '@/config/paths';
import { useGroupOptions, useTilingConfigOptions } from '../api/options';
import { useStartClusterRun, type NewClusterRun } from '../api/runs';
import { fieldErrors } from '../lib/field-errors';
import { FieldError } from './field-error';

type Target = 'all' | 'group' | 'slides';

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
  const [numbers, setNumbers] = useState(NUMBER_DEFAULTS);
  const [spherical, setSpherical] = useState(false);
  const [method, setMethod] = useState<'flat' | 'hierarchical'>('flat');
  const [levels, setLevels] = useState('');
  const [target, setTarget] = useState<Target>('all');
  const [groupId, setGroupId] = useState('');
  const [slideIds, setSlideIds] = useState('');
  const groups = useGroupOptions(target === 'group');
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
        kind === 'embedding'
          ? { name: model.name.trim(), weights: model.weights.trim() || null, image_size: model.image_size.trim() ? Number(model.image_size) : null }
          : null,
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
    <div className="field-stack">
      <label>
        {label}
        <input type="number" step={1} value={numbers[key]} onChange={setNumber(key)} required aria-invalid={errors[key] ? true : undefined} />
      </label>
      <FieldError errors={errors} name={key} />
    </div>
  );

  return (
    <form className="inline-form cluster-run-form" onSubmit={submit} aria-label="New cluster run">
      <h2 className="form-title">New cluster run</h2>
      <div className="field-stack grow">
        <label>
          Name
          <input value={name} onChange={(e) => setName(e.target.value)} required placeholder="Colour k=100" aria-invalid={errors.name ? true : undefined} />
        </label>
        <FieldError errors={errors} name="name" />
      </div>
      <div className="field-stack">
        <label>
          Tiling configuration
          <select aria-label="Tiling configuration" value={configId} onChange={(e) => setConfigId(e.target.value)} required>
            <option value="">Choose a configuration…</option>
            {(configs.data ?? []).map((c) => (
              <option key={c.id} value={String(c.id)}>
                {c.name}
              </option>
            ))}
          </select>
        </label>
        <FieldError errors={errors} name="config" />
      </div>
      <fieldset className="run-target" aria-label="Features">
        <label className="check">
          <input type="radio" name="feature-kind" checked={kind === 'colour'} onChange={() => setKind('colour')} />
          Colour features
        </label>
        <label className="check">
          <input type="radio" name="feature-kind" checked={kind === 'embedding'} onChange={() => setKind('embedding')} />
          Deep embeddings
        </label>
        <FieldError errors={errors} name="feature_kind" />
      </fieldset>
      {kind === 'embedding' && (
        <div className="form-row">
          <div className="field-stack grow">
            <label>
              timm model name
              <input value={model.name} onChange={(e) => setModel({ ...model, name: e.target.value })} required />
            </label>
            <FieldError errors={errors} name="embedding_model.name" />
            <FieldError errors={errors} name="embedding_model" />
          </div>
          <div className="field-stack grow">
            <label>
              Local weights path
              <input value={model.weights} onChange={(e) => setModel({ ...model, weights: e.target.value })} placeholder="/models/dinov2.safetensors" />
            </label>
            <FieldError errors={errors} name="embedding_model.weights" />
          </div>
          <div className="field-stack">
            <label>
              Image size (px)
              <input type="number" step={1} value={model.image_size} onChange={(e) => setModel({ ...model, image_size: e.target.value })} placeholder="model default" />
            </label>
            <FieldError errors={errors} name="embedding_model.image_size" />
          </div>
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
        <div className="field-stack">
          <label>
            Method
            <select aria-label="Method" value={method} onChange={(e) => setMethod(e.target.value as 'flat' | 'hierarchical')}>
              <option value="flat">flat</option>
              <option value="hierarchical">hierarchical</option>
            </select>
          </label>
          <FieldError errors={errors} name="method" />
        </div>
        {method === 'hierarchical' && (
          <div className="field-stack">
            <label>
              Levels
              <input value={levels} onChange={(e) => setLevels(e.target.value)} placeholder="finer levels before k, e.g. 1000" aria-invalid={errors.levels ? true : undefined} />
            </label>
            <FieldError errors={errors} name="levels" nested />
          </div>
        )}
      </div>
      <div className="form-row">
        <fieldset className="run-target" aria-label="Slides to cluster">
          <label className="check">
            <input type="radio" name="cluster-target" checked={target === 'all'} onChange={() => setTarget('all')} />
            All tiled slides
          </label>
          <label className="check">
            <input type="radio" name="cluster-target" checked={target === 'group'} onChange={() => setTarget('group')} />
            A group
          </label>
          <label className="check">
            <input type="radio" name="cluster-target" checked={target === 'slides'} onChange={() => setTarget('slides')} />
            Slide ids
          </label>
        </fieldset>
        {target === 'group' && (
          <div className="field-stack">
            <label>
              Group
              <select aria-label="Group" value={groupId} onChange={(e) => setGroupId(e.target.value)} required>
                <option value="">Choose a group…</option>
                {(groups.data ?? []).map((g) => (
                  <option key={g.id} value={String(g.id)}>
                    {g.name}
                    {g.slide_count !== undefined ? ` (${g.slide_count})` : ''}
                  </option>
                ))}
              </select>
            </label>
            <FieldError errors={errors} name="group" />
          </div>
        )}
        {target === 'slides' && (
          <div className="field-stack grow">
            <label>
              Slide ids
              <input value={slideIds} onChange={(e) => setSlideIds(e.target.value)} placeholder="12, 15, 18" required />
            </label>
            <FieldError errors={errors} name="slides" nested />
          </div>
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
