import { useState, type FormEvent } from 'react';
import { ErrorMessage } from '@/components/error-message';
import type { Cluster } from '../api/schemas';

interface Props {
  source: Cluster;
  clusters: Cluster[];
  pending: boolean;
  error: unknown;
  onMerge: (target: Cluster) => void;
  onClose: () => void;
}

/** Merge the current cluster into another one, chosen by its index. */
export function MergeDialog({ source, clusters, pending, error, onMerge, onClose }: Props) {
  const [text, setText] = useState('');
  const index = text.trim() === '' ? null : Number(text);
  const target = index === null ? undefined : clusters.find((c) => c.index === index);
  const problem =
    index === null
      ? ''
      : !target
        ? `There is no cluster #${text.trim()}.`
        : target.id === source.id
          ? 'Choose another cluster.'
          : target.status === 'merged'
            ? `#${target.index} is itself merged; choose the cluster it was merged into.`
            : '';
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (target && !problem) onMerge(target);
  };
  return (
    <div className="lightbox" onClick={onClose}>
      <form
        className="merge-dialog"
        role="dialog"
        aria-label={`Merge cluster #${source.index}`}
        onSubmit={submit}
        onClick={(e) => e.stopPropagation()}
        onKeyDown={(e) => {
          if (e.key === 'Escape') {
            e.preventDefault();
            e.stopPropagation();
            onClose();
          }
        }}
      >
        <h2>Merge cluster #{source.index} into…</h2>
        <label>
          Target cluster index
          <input type="number" min={0} step={1} autoFocus value={text} onChange={(e) => setText(e.target.value)} />
        </label>
        {target && !problem && (
          <p className="muted">
            #{target.index}: {target.size.toLocaleString('en-US')} tiles, {target.status === 'accepted' ? target.category_name : target.status}. Cluster #{source.index} will
            follow its decision.
          </p>
        )}
        {problem && <p className="error-text">{problem}</p>}
        {error != null && <ErrorMessage error={error} />}
        <div className="form-actions">
          <button type="submit" className="btn btn-primary" disabled={!target || !!problem || pending}>
            {target && !problem ? `Merge into #${target.index}` : 'Merge'}
          </button>
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </div>
  );
}
