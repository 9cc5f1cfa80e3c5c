/**
 * A server's message for one field, shown under it. `nested`: also the messages of its parts
 * (a list field's items come back as `levels.0`, `levels.1`, …).
 */
export function FieldError({ errors, name, nested = false }: { errors: Record<string, string>; name: string; nested?: boolean }) {
  const messages = Object.entries(errors)
    .filter(([key]) => key === name || (nested && key.startsWith(`${name}.`)))
    .map(([, message]) => message);
  if (messages.length === 0) return null;
  return (
    <span className="field-error" role="alert" data-field={name}>
      {[...new Set(messages)].join(' ')}
    </span>
  );
}
