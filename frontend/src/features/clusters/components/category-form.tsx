import { useState, type FormEvent } from 'react';
import { ErrorMessage } from '@/components/error-message';
import { useCreateSemanticCategory, useUpdateSemanticCategory, type CategoryInput } from '../api/categories';
import type { SemanticCategory } from '../api/schemas';
import { fieldErrors } from '../lib/field-errors';
import { FieldError } from './field-error';

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
      <div className="field-stack">
        <label>
          Name
          <input value={values.name} onChange={set('name')} required />
        </label>
        <FieldError errors={errors} name="name" />
      </div>
      <div className="field-stack">
        <label>
          Colour
          <input type="color" value={values.colour} onChange={set('colour')} className="colour-input" />
        </label>
        <FieldError errors={errors} name="colour" />
      </div>
      <div className="field-stack">
        <label>
          Default weight
          <input type="number" step="any" min={0} value={values.default_weight} onChange={set('default_weight')} required className="narrow" />
        </label>
        <FieldError errors={errors} name="default_weight" />
      </div>
      <div className="field-stack">
        <label>
          Shortcut
          <input value={values.shortcut} onChange={set('shortcut')} maxLength={1} placeholder="0–9" className="narrow" />
        </label>
        <FieldError errors={errors} name="shortcut" />
      </div>
      <div className="field-stack grow">
        <label>
          Description
          <input value={values.description} onChange={set('description')} />
        </label>
        <FieldError errors={errors} name="description" />
      </div>
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
