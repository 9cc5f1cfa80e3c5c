import { useEffect, useState, type FormEvent } from 'react';
import type { AuditFilters as Filters } from '../hooks/use-audit-filters';

// Known actions for the picker; typing any other action name works as well.
const ACTIONS = ['tag.add', 'tag.remove', 'review.set', 'rule.apply', 'group.create', 'group.update', 'group.delete'];

export function AuditFilters({ filters, update }: { filters: Filters; update: (patch: Partial<Filters>) => void }) {
  const [action, setAction] = useState(filters.action);
  const [slide, setSlide] = useState(filters.slide);
  const [actor, setActor] = useState(filters.actor);

  // Back/forward and links change the URL: show what it says.
  useEffect(() => {
    setAction(filters.action);
    setSlide(filters.slide);
    setActor(filters.actor);
  }, [filters.action, filters.slide, filters.actor]);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    update({ action: action.trim(), slide: slide.trim(), actor: actor.trim() });
  };

  return (
    <form className="inline-form" onSubmit={submit} aria-label="Audit filters">
      <label>
        Action
        <input list="audit-actions" value={action} onChange={(e) => setAction(e.target.value)} placeholder="any" />
        <datalist id="audit-actions">
          {ACTIONS.map((a) => (
            <option key={a} value={a} />
          ))}
        </datalist>
      </label>
      <label>
        Slide id
        <input type="number" min="1" value={slide} onChange={(e) => setSlide(e.target.value)} className="narrow" />
      </label>
      <label>
        Actor (user id)
        <input type="number" min="1" value={actor} onChange={(e) => setActor(e.target.value)} className="narrow" />
      </label>
      <button type="submit" className="btn btn-primary">
        Filter
      </button>
      <button type="button" className="btn" onClick={() => update({ action: '', slide: '', actor: '' })}>
        Reset
      </button>
    </form>
  );
}
