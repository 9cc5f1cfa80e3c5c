import type { ReactNode } from 'react';

interface Props {
  /** Bulk actions for the selection, when the user may act on it. */
  children?: ReactNode;
  selectedCount: number;
  allOnPageSelected: boolean;
  onToggleAllOnPage: () => void;
  onClear: () => void;
  disabled: boolean;
}

/** Shows the current selection and, below it, the bulk actions passed as children. */
export function SelectionToolbar({ children, selectedCount, allOnPageSelected, onToggleAllOnPage, onClear, disabled }: Props) {
  return (
    <div className="selection-toolbar" role="toolbar" aria-label="Selection">
      <label className="check">
        <input
          type="checkbox"
          checked={allOnPageSelected}
          onChange={onToggleAllOnPage}
          disabled={disabled}
          data-testid="select-all-on-page"
        />
        Select all on page
      </label>
      <span data-testid="selection-count" className={selectedCount ? 'strong' : 'muted'}>
        {selectedCount} selected
      </span>
      {selectedCount > 0 && (
        <button type="button" className="btn btn-small" onClick={onClear}>
          Clear
        </button>
      )}
      {children}
    </div>
  );
}
