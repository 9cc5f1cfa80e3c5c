import type { ReactNode } from 'react';
import { FieldError } from './field-error';

interface Props {
  label: ReactNode;
  /** The server's field messages (see lib/field-errors) and the field whose message goes underneath. */
  errors: Record<string, string>;
  name: string;
  /** Also show the messages of the field's parts (`levels.0`, …). */
  nested?: boolean;
  /** Take up the row's spare width. */
  grow?: boolean;
  /** The control. */
  children: ReactNode;
}

/** A labelled control with the server's message for it underneath. */
export function Field({ label, errors, name, nested, grow, children }: Props) {
  return (
    <div className={grow ? 'field-stack grow' : 'field-stack'}>
      <label>
        {label}
        {children}
      </label>
      <FieldError errors={errors} name={name} nested={nested} />
    </div>
  );
}
