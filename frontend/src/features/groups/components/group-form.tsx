import { useState, type FormEvent } from 'react';
import { ErrorMessage } from '@/components/error-message';
import { type GroupInput, useSaveGroup } from '../api/save-group';
import { GROUP_KINDS, type Group, type GroupKind } from '../api/schemas';
import { RuleHelp } from './rule-help';
import { RulePreview } from './rule-preview';

interface Props {
  /** null: create a new group. */
  group: Group | null;
  onDone: () => void;
}

export function GroupForm({ group, onDone }: Props) {
  const [name, setName] = useState(group?.name ?? '');
  const [description, setDescription] = useState(group?.description ?? '');
  const [weight, setWeight] = useState(String(group?.weight ?? 1));
  const [kind, setKind] = useState<GroupKind>(group?.kind ?? 'rule');
  const [rule, setRule] = useState(group?.rule ?? '');
  const save = useSaveGroup();

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const input: GroupInput = {
      name: name.trim(),
      description: description.trim(),
      weight: Number(weight),
      kind,
      rule: kind === 'rule' ? rule.trim() : '',
    };
    save.mutate({ id: group?.id ?? null, input }, { onSuccess: onDone });
  };

  return (
    <form className="inline-form group-form" onSubmit={submit} aria-label={group ? `Edit group ${group.name}` : 'New group'}>
      <label>
        Name
        <input value={name} onChange={(e) => setName(e.target.value)} required data-testid="group-name" />
      </label>
      <label className="grow">
        Description
        <input value={description} onChange={(e) => setDescription(e.target.value)} />
      </label>
      <label>
        Weight
        <input type="number" step="any" min="0" value={weight} onChange={(e) => setWeight(e.target.value)} required className="narrow" />
      </label>
      <label>
        Kind
        <select value={kind} onChange={(e) => setKind(e.target.value as GroupKind)} data-testid="group-kind">
          {GROUP_KINDS.map((k) => (
            <option key={k} value={k}>
              {k}
            </option>
          ))}
        </select>
      </label>
      {kind === 'rule' && (
        <div className="rule-editor">
          <label>
            Rule
            <textarea
              value={rule}
              onChange={(e) => setRule(e.target.value)}
              rows={3}
              required
              spellCheck={false}
              placeholder='stain = "H&E" AND tissue IN (colon, rectum)'
              data-testid="group-rule"
            />
          </label>
          <RulePreview rule={rule} />
          <RuleHelp />
        </div>
      )}
      {kind === 'explicit' && <span className="muted">Add slides from the slide browser: select them, then “Add to group…”.</span>}
      <div className="form-actions">
        <button type="submit" className="btn btn-primary" disabled={save.isPending} data-testid="group-save">
          {save.isPending ? 'Saving…' : group ? 'Save' : 'Create group'}
        </button>
        <button type="button" className="btn" onClick={onDone}>
          Cancel
        </button>
      </div>
      {save.isError && <ErrorMessage error={save.error} />}
    </form>
  );
}
