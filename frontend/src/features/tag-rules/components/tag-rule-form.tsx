import { useState, type FormEvent } from 'react';
import { ErrorMessage } from '@/components/error-message';
import type { TagRule, RuleField } from '../api/schemas';
import { RULE_FIELDS } from '../api/schemas';
import { useSaveTagRule, useTermChoices } from '../api/tag-rules';

export function TagRuleForm({ rule, onDone }: { rule: TagRule | null; onDone: () => void }) {
  const [name, setName] = useState(rule?.name ?? '');
  const [field, setField] = useState<RuleField>(rule?.field ?? 'path');
  const [pattern, setPattern] = useState(rule?.pattern ?? '');
  const [term, setTerm] = useState(rule ? String(rule.term) : '');
  const [active, setActive] = useState(rule?.active ?? true);
  const terms = useTermChoices();
  const save = useSaveTagRule();

  const submit = (e: FormEvent) => {
    e.preventDefault();
    save.mutate(
      { id: rule?.id ?? null, input: { name: name.trim(), field, pattern, term: Number(term), active } },
      { onSuccess: onDone },
    );
  };

  return (
    <form className="inline-form" onSubmit={submit} aria-label={rule ? `Edit rule ${rule.name}` : 'New tag rule'}>
      <label>
        Name
        <input value={name} onChange={(e) => setName(e.target.value)} required />
      </label>
      <label>
        Field
        <select value={field} onChange={(e) => setField(e.target.value as RuleField)}>
          {RULE_FIELDS.map((f) => (
            <option key={f} value={f}>
              {f === 'path' ? 'relative path' : 'file name'}
            </option>
          ))}
        </select>
      </label>
      <label className="grow">
        Pattern (regular expression)
        <input value={pattern} onChange={(e) => setPattern(e.target.value)} required spellCheck={false} placeholder="^lab_b/.*_HE\." />
      </label>
      <label>
        Term
        <select value={term} onChange={(e) => setTerm(e.target.value)} required>
          <option value="">Choose…</option>
          {(terms.data ?? []).map((c) => (
            <optgroup key={c.key} label={c.name}>
              {c.terms
                .filter((t) => t.active || String(t.id) === term)
                .map((t) => (
                  <option key={t.id} value={String(t.id)}>
                    {t.name}
                  </option>
                ))}
            </optgroup>
          ))}
        </select>
      </label>
      <label className="check">
        <input type="checkbox" checked={active} onChange={(e) => setActive(e.target.checked)} />
        active
      </label>
      <button type="submit" className="btn btn-primary" disabled={save.isPending}>
        {rule ? 'Save' : 'Create rule'}
      </button>
      <button type="button" className="btn" onClick={onDone}>
        Cancel
      </button>
      {terms.isError && <ErrorMessage error={terms.error} />}
      {save.isError && <ErrorMessage error={save.error} />}
    </form>
  );
}
