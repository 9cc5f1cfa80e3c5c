import { useState, type FormEvent } from 'react';
import { ErrorMessage } from '@/components/error-message';
import { useCreateSemanticCategory, useUpdateSemanticCategory, type CategoryInput } from '../api/categories';
import type { SemanticCategory } from '../api/schemas';
import { fieldErrors } from '../lib/field-errors';
import { Field } from './field';

const EMPTY = { name: '', colour: '#1f77b4', default_weight: '1', shortcut: '', description: '' };

interface Props {
  /** Edit this category; without it the form adds a new one. */
  category?: SemanticCategory;
  onDone?: () => void;
}

export function SemanticCategoryForm({ category, onDone }: Props) {
  const [values, setValues] = useState(
    category
      ? { name: category.name, colour: category.colour, default_weight: String(category.default_weight), shortcut: category.shortcut, description: category.description }
      : EMPTY,
  );
  const create = useCreateSemanticCategory();
  const update = useUpdateSemanticCategory();
  const mutation = category ? update : create;
  const errors = fieldErrors(mutation.error);
  const set = (key: keyof typeof EMPTY) => (e: React.ChangeEvent<HTMLInputElement>) => setValues((v) => ({ ...v, [key]: e.target.value }));

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const body: CategoryInput = {
      name: values.name.trim(),
      colour: values.colour,
      default_weight: Number(values.default_weight),
      shortcut: values.shortcut.trim(),
      description: values.description.trim(),
    };
    const done = () => {
      if (!category) setValues(EMPTY);
      onDone?.();
    };
    if (category) update.mutate({ id: category.id, patch: body }, { onSuccess: done });
    else create.mutate(body, { onSuccess: done });
  };

  return (
    <form className="inline-form" onSubmit={submit} aria-label={category ? `Edit ${category.name}` : 'New semantic category'}>
      <Field label="Name" errors={errors} name="name">
        <input value={values.name} onChange={set('name')} required />
      </Field>
      <Field label="Colour" errors={errors} name="colour">
        <input type="color" value={values.colour} onChange={set('colour')} className="colour-input" />
      </Field>
      <Field label="Default weight" errors={errors} name="default_weight">
        <input type="number" step="any" min={0} value={values.default_weight} onChange={set('default_weight')} required className="narrow" />
      </Field>
      <Field label="Shortcut" errors={errors} name="shortcut">
        <input value={values.shortcut} onChange={set('shortcut')} maxLength={1} placeholder="0–9" className="narrow" />
      </Field>
      <Field label="Description" errors={errors} name="description" grow>
        <input value={values.description} onChange={set('description')} />
      </Field>
      <button type="submit" className="btn btn-primary" disabled={mutation.isPending}>
        {category ? 'Save' : 'Add category'}
      </button>
      {category && onDone && (
        <button type="button" className="btn" onClick={onDone}>
          Cancel
        </button>
      )}
      {mutation.isError && Object.keys(errors).length === 0 && <ErrorMessage error={mutation.error} />}
    </form>
  );
}
