import { useState, type FormEvent } from 'react';
import { ErrorMessage } from '@/components/error-message';
import { useCreateTilingConfig, type NewTilingConfig } from '../api/configs';

const DEFAULTS = { tile_size: '256', target_mpp: '0.5', stride: '', min_tissue_fraction: '0.5' };

/** New tiling configuration (admin). Configurations are immutable, so there is no edit form. */
export function ConfigForm() {
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [numbers, setNumbers] = useState(DEFAULTS);
  const [features, setFeatures] = useState(true);
  const create = useCreateTilingConfig();

  const setNumber = (key: keyof typeof DEFAULTS) => (e: React.ChangeEvent<HTMLInputElement>) =>
    setNumbers((prev) => ({ ...prev, [key]: e.target.value }));

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const body: NewTilingConfig = {
      name: name.trim(),
      description: description.trim(),
      params: {
        tile_size: Number(numbers.tile_size),
        target_mpp: Number(numbers.target_mpp),
        // Empty means "no overlap": the server wants null, not 0.
        stride: numbers.stride.trim() === '' ? null : Number(numbers.stride),
        min_tissue_fraction: Number(numbers.min_tissue_fraction),
        features,
      },
    };
    create.mutate(body, {
      onSuccess: () => {
        setName('');
        setDescription('');
        setNumbers(DEFAULTS);
        setFeatures(true);
      },
    });
  };

  return (
    <form className="inline-form" onSubmit={submit} aria-label="New tiling configuration">
      <label>
        Name
        <input value={name} onChange={(e) => setName(e.target.value)} required placeholder="256px @ 0.5" />
      </label>
      <label className="grow">
        Description
        <input value={description} onChange={(e) => setDescription(e.target.value)} />
      </label>
      <label>
        Tile size (px)
        <input type="number" min={1} step={1} value={numbers.tile_size} onChange={setNumber('tile_size')} required />
      </label>
      <label>
        Target µm/px
        <input type="number" min={0} step="any" value={numbers.target_mpp} onChange={setNumber('target_mpp')} required />
      </label>
      <label>
        Stride (px, optional)
        <input type="number" min={1} step={1} value={numbers.stride} onChange={setNumber('stride')} placeholder="= tile size" />
      </label>
      <label>
        Min tissue fraction
        <input type="number" min={0} max={1} step="any" value={numbers.min_tissue_fraction} onChange={setNumber('min_tissue_fraction')} required />
      </label>
      <label className="check">
        <input type="checkbox" checked={features} onChange={(e) => setFeatures(e.target.checked)} />
        Colour features
      </label>
      <button type="submit" className="btn btn-primary" disabled={create.isPending}>
        {create.isPending ? 'Creating…' : 'Create configuration'}
      </button>
      {create.isError && <ErrorMessage error={create.error} />}
      {create.isSuccess && <span className="ok-message">Configuration “{create.data.name}” created.</span>}
    </form>
  );
}
