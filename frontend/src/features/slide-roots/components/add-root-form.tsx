import { useState, type FormEvent } from 'react';
import { ErrorMessage } from '@/components/error-message';
import { useCreateSlideRoot } from '../api/create-slide-root';

export function AddRootForm() {
  const [name, setName] = useState('');
  const [path, setPath] = useState('');
  const create = useCreateSlideRoot();

  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate(
      { name: name.trim(), path: path.trim() },
      {
        onSuccess: () => {
          setName('');
          setPath('');
        },
      },
    );
  };

  return (
    <form className="inline-form" onSubmit={submit} aria-label="Add slide root">
      <label>
        Name
        <input value={name} onChange={(e) => setName(e.target.value)} required placeholder="archive" />
      </label>
      <label className="grow">
        Folder path on the server
        <input value={path} onChange={(e) => setPath(e.target.value)} required placeholder="/data/slides/archive" />
      </label>
      <button type="submit" className="btn btn-primary" disabled={create.isPending}>
        {create.isPending ? 'Adding…' : 'Add root'}
      </button>
      {create.isError && <ErrorMessage error={create.error} />}
      {create.isSuccess && <span className="ok-message">Root “{create.data.name}” added.</span>}
    </form>
  );
}
