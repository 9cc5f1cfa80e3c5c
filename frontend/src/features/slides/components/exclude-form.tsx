import { useState, type FormEvent } from 'react';

interface Props {
  onSubmit: (reason: string) => void;
  onCancel: () => void;
  pending?: boolean;
}

/** Excluding a slide needs a reason (the server insists); this asks for it inline. */
export function ExcludeForm({ onSubmit, onCancel, pending }: Props) {
  const [reason, setReason] = useState('');
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (reason.trim()) onSubmit(reason.trim());
  };
  return (
    <form className="exclude-form" onSubmit={submit} aria-label="Exclude">
      <input
        aria-label="Reason for excluding"
        placeholder="Reason (e.g. out of focus)"
        value={reason}
        onChange={(e) => setReason(e.target.value)}
        autoFocus
      />
      <button type="submit" className="btn btn-small" disabled={!reason.trim() || pending}>
        Exclude
      </button>
      <button type="button" className="btn btn-small" onClick={onCancel}>
        Cancel
      </button>
    </form>
  );
}
