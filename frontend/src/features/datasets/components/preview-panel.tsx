import { ErrorMessage } from '@/components/error-message';
import type { SemanticCategoryOption } from '@/lib/options';
import type { Preview } from '../api/schemas';
import { GroupCategoryMatrix } from './group-category-matrix';

interface Props {
  preview: Preview | undefined;
  error: unknown;
  /** A newer recipe is being estimated (the shown one is the previous answer). */
  updating: boolean;
  /** The form holds something that is not a whole recipe yet. */
  incomplete: boolean;
  includeUnreviewed: boolean;
  categories: SemanticCategoryOption[];
}

const n = (v: number) => v.toLocaleString('en-US');

/** What the recipe would give: estimated tiles per group and category against what is eligible. */
export function PreviewPanel({ preview, error, updating, incomplete, includeUnreviewed, categories }: Props) {
  return (
    <section className="preview-panel" aria-label="Preview" aria-busy={updating}>
      <div className="page-head">
        <h2>Preview</h2>
        <span className="spacer" />
        {updating && <span className="muted small">updating…</span>}
      </div>
      {incomplete && <p className="muted small">Complete the recipe (every number, a group in every row) to see its estimate.</p>}
      {error ? <ErrorMessage error={error} /> : null}
      {preview && (
        <>
          <div className="summary-bar" data-testid="preview-totals">
            <span>
              <strong data-testid="preview-estimated">{n(preview.estimated_total)}</strong> tiles estimated
            </span>
            <span>
              <strong>{n(preview.eligible_total)}</strong> eligible
            </span>
            <span className={preview.shortfall > 0 ? 'warn-text' : undefined}>
              <strong data-testid="preview-shortfall">{n(preview.shortfall)}</strong> short
            </span>
          </div>
          {preview.shortfall > 0 && (
            <p className="warning-box" role="status">
              The budget asks for {n(preview.shortfall)} tiles more than the eligible ones can give: the build takes what exists and reports the shortfall. Marked cells give every
              eligible tile.
            </p>
          )}
          {preview.unreviewed_clusters > 0 && (
            <p className={includeUnreviewed ? 'warning-box' : 'warning-box is-blocking'} role="status" data-testid="preview-unreviewed">
              {preview.unreviewed_clusters} cluster{preview.unreviewed_clusters === 1 ? ' is' : 's are'} not reviewed.{' '}
              {includeUnreviewed
                ? 'Their tiles go in as the category “unreviewed”.'
                : 'The build refuses until they are reviewed, or until you include unreviewed clusters explicitly.'}
            </p>
          )}
          <GroupCategoryMatrix
            cells={preview.cells.map((c) => ({ group: c.group, category: c.category, value: c.estimated, reference: c.eligible }))}
            mode="preview"
            categories={categories}
            label="Estimated composition"
          />
          {preview.notes.length > 0 && (
            <ul className="notes" aria-label="Notes">
              {preview.notes.map((note) => (
                <li key={note}>{note}</li>
              ))}
            </ul>
          )}
        </>
      )}
    </section>
  );
}
