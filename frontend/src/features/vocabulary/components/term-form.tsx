import { useState, type FormEvent } from 'react';
import { ErrorMessage } from '@/components/error-message';
import { parseSynonyms, type Term } from '../api/schemas';
import { useCreateTerm, useUpdateTerm } from '../api/vocabulary';

interface Props {
  categoryId: number;
  /** null: add a new term. */
  term: Term | null;
  onDone: () => void;
}

export function TermForm({ categoryId, term, onDone }: Props) {
  const [name, setName] = useState(term?.name ?? '');
  const [code, setCode] = useState(term?.code ?? '');
  const [synonyms, setSynonyms] = useState(term?.synonyms.join(', ') ?? '');
  const create = useCreateTerm();
  const update = useUpdateTerm();
  const save = term ? update : create;

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const body = { category: categoryId, name: name.trim(), code: code.trim(), synonyms: parseSynonyms(synonyms) };
    if (term) update.mutate({ id: term.id, patch: body }, { onSuccess: onDone });
    else create.mutate(body, { onSuccess: onDone });
  };

  return (
    <form className="inline-form" onSubmit={submit} aria-label={term ? `Edit term ${term.name}` : 'New term'}>
      <label>
        Name
        <input value={name} onChange={(e) => setName(e.target.value)} required />
      </label>
      <label>
        Code
        <input value={code} onChange={(e) => setCode(e.target.value)} placeholder="e.g. an ontology id" />
      </label>
      <label className="grow">
        Synonyms (comma-separated)
        <input value={synonyms} onChange={(e) => setSynonyms(e.target.value)} placeholder="HE, H and E" />
      </label>
      <button type="submit" className="btn btn-primary" disabled={save.isPending}>
        {term ? 'Save' : 'Add term'}
      </button>
      <button type="button" className="btn" onClick={onDone}>
        Cancel
      </button>
      {save.isError && <ErrorMessage error={save.error} />}
    </form>
  );
}
