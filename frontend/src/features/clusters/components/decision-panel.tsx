import type { ReactNode, RefObject } from 'react';
import { REJECT_REASONS, type Cluster, type RejectReason, type SemanticCategory } from '../api/schemas';

export interface Draft {
  note?: string;
  weight?: string;
}

export type SaveState = 'saving' | 'saved' | 'error' | 'kept' | undefined;

interface Props {
  cluster: Cluster;
  categories: SemanticCategory[];
  /** Admin or pathologist, and the run is not locked. */
  enabled: boolean;
  locked: boolean;
  canReview: boolean;
  draft: Draft;
  saveState: SaveState;
  noteRef: RefObject<HTMLTextAreaElement | null>;
  weightRef: RefObject<HTMLInputElement | null>;
  onDraft: (patch: Draft) => void;
  onAccept: (category: SemanticCategory) => void;
  onReject: (reason: RejectReason) => void;
  onUnreviewed: () => void;
  onMerge: () => void;
  /** Enter in the note or weight field. */
  onCommit: () => void;
  children?: ReactNode;
}

function saveText(state: SaveState, dirty: boolean): string {
  if (state === 'saving') return 'Saving…';
  if (state === 'error') return 'Not saved';
  if (state === 'kept' || dirty) return 'Unsaved: kept for this cluster’s next decision';
  if (state === 'saved') return 'Saved';
  return '';
}

export function DecisionPanel(props: Props) {
  const { cluster, categories, enabled, locked, canReview, draft, saveState, noteRef, weightRef, onDraft, onCommit } = props;
  const note = draft.note ?? cluster.note;
  const weight = draft.weight ?? (cluster.weight === null ? '' : String(cluster.weight));
  const dirty = (draft.note !== undefined && draft.note !== cluster.note) || (draft.weight !== undefined && draft.weight !== (cluster.weight === null ? '' : String(cluster.weight)));
  const category = categories.find((c) => c.id === cluster.category);
  const fieldKeys = (e: React.KeyboardEvent<HTMLTextAreaElement | HTMLInputElement>) => {
    if (e.key === 'Enter' && !e.shiftKey) {
      e.preventDefault();
      onCommit();
      e.currentTarget.blur();
    } else if (e.key === 'Escape') {
      e.preventDefault();
      e.stopPropagation();
      e.currentTarget.blur();
    }
  };

  return (
    <aside className="decision-panel" aria-label="Decision">
      <div className="decision-head">
        <h2>Cluster #{cluster.index}</h2>
        <span className={`badge badge-cluster-status-${cluster.status}`} data-testid="cluster-status">
          {cluster.status}
        </span>
      </div>
      <div className="muted small">
        {cluster.size.toLocaleString('en-US')} tiles · {(cluster.share * 100).toFixed(1)}% · {cluster.slide_count} {cluster.slide_count === 1 ? 'slide' : 'slides'}
        {cluster.reviewed_by && ` · by ${cluster.reviewed_by}`}
      </div>
      {locked && (
        <p className="locked-note" role="note">
          This run is locked for final review: decisions are not accepted.
        </p>
      )}
      {!canReview && <p className="muted small">Only pathologists and admins make decisions.</p>}

      <h3>Category</h3>
      <div className="category-buttons" role="group" aria-label="Categories">
        {categories.map((c) => (
          <button
            key={c.id}
            type="button"
            className="category-button"
            aria-pressed={cluster.status === 'accepted' && cluster.category === c.id}
            disabled={!enabled}
            onClick={() => props.onAccept(c)}
            title={c.description || c.name}
          >
            <span className="swatch" style={{ background: c.colour }} aria-hidden="true" />
            <span className="category-name">{c.name}</span>
            {c.shortcut && <kbd>{c.shortcut}</kbd>}
          </button>
        ))}
      </div>
      <h3>Reject</h3>
      <div className="reject-buttons" role="group" aria-label="Reject">
        {REJECT_REASONS.map((r) => (
          <button
            key={r.value}
            type="button"
            className="btn btn-small"
            aria-pressed={cluster.status === 'rejected' && cluster.reject_reason === r.value}
            disabled={!enabled}
            onClick={() => props.onReject(r.value)}
          >
            {r.label} <kbd>{r.key}</kbd>
          </button>
        ))}
      </div>
      <div className="decision-extra">
        <button type="button" className="btn btn-small" disabled={!enabled || cluster.status === 'unreviewed'} onClick={props.onUnreviewed}>
          {cluster.status === 'merged' ? 'Unmerge' : 'Unreviewed'} <kbd>u</kbd>
        </button>
        <button type="button" className="btn btn-small" disabled={!enabled || cluster.status === 'merged'} onClick={props.onMerge}>
          Merge… <kbd>m</kbd>
        </button>
      </div>
      <label className="field">
        <span>
          Weight <kbd>w</kbd>
        </span>
        <input
          ref={weightRef}
          type="number"
          step="any"
          min={0}
          aria-label="Weight"
          value={weight}
          disabled={!enabled}
          placeholder={category ? `${category.default_weight} (default)` : 'category default'}
          onChange={(e) => onDraft({ weight: e.target.value })}
          onKeyDown={fieldKeys}
        />
      </label>
      <label className="field">
        <span>
          Note <kbd>n</kbd>
        </span>
        <textarea
          ref={noteRef}
          aria-label="Note"
          rows={2}
          value={note}
          disabled={!enabled}
          onChange={(e) => onDraft({ note: e.target.value })}
          onKeyDown={fieldKeys}
        />
      </label>
      <div className="save-status" role="status" data-testid="save-status" data-state={saveState ?? (dirty ? 'dirty' : 'idle')}>
        {saveText(saveState, dirty)}
      </div>
      {props.children}
    </aside>
  );
}
