import type { ReactNode } from 'react';

interface Props<T extends string> {
  /** The fieldset's accessible name. */
  label: string;
  /** The radios' shared `name`. */
  name: string;
  value: T;
  onChange: (value: T) => void;
  /** Each choice's value and its label, in order. */
  choices: ReadonlyArray<readonly [T, ReactNode]>;
  className?: string;
  /** Shown after the radios (a field's error, say). */
  children?: ReactNode;
}

/** A row of radio buttons choosing one of a few values (a run's target, a kind of features…). */
export function RadioChoices<T extends string>({ label, name, value, onChange, choices, className = 'run-target', children }: Props<T>) {
  return (
    <fieldset className={className} aria-label={label}>
      {choices.map(([choice, text]) => (
        <label className="check" key={choice}>
          <input type="radio" name={name} checked={value === choice} onChange={() => onChange(choice)} />
          {text}
        </label>
      ))}
      {children}
    </fieldset>
  );
}
