import { useState, type FormEvent } from 'react';
import { ErrorMessage } from '@/components/error-message';
import { useCreateCategory } from '../api/vocabulary';

export function CategoryForm({ onDone }: { onDone: () => void }) {
  const [key, setKey] = useState('');
  const [name, setName] = useState('');
  const [multiValued, setMultiValued] = useState(true);
  const create = useCreateCategory();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate({ key: key.trim(), name: name.trim(), multi_valued: multiValued }, { onSuccess: onDone });
  };
  return (
    <form className="inline-form" onSubmit={submit} aria-label="New category">
      <label>
        Key
        <input value={key} onChange={(e) => setKey(e.target.value)} required pattern="[a-z0-9_\-]+" title="lower-case letters, digits, - and _" />
      </label>
      <label>
        Name
        <input value={name} onChange={(e) => setName(e.target.value)} required />
      </label>
      <label className="check">
        <input type="checkbox" checked={multiValued} onChange={(e) => setMultiValued(e.target.checked)} />
        several terms per slide
      </label>
      <button type="submit" className="btn btn-primary" disabled={create.isPending}>
        Add category
      </button>
      <button type="button" className="btn" onClick={onDone}>
        Cancel
      </button>
      {create.isError && <ErrorMessage error={create.error} />}
    </form>
  );
}
