interface Props {
  selectedCount: number;
  allOnPageSelected: boolean;
  onToggleAllOnPage: () => void;
  onClear: () => void;
  disabled: boolean;
}

/** Shows the current selection; bulk actions will hang off this bar. */
export function SelectionToolbar({ selectedCount, allOnPageSelected, onToggleAllOnPage, onClear, disabled }: Props) {
  return (
    <div className="selection-toolbar" role="toolbar" aria-label="Selection">
      <label className="check">
        <input type="checkbox" checked={allOnPageSelected} onChange={onToggleAllOnPage} disabled={disabled} />
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
    </div>
  );
}
