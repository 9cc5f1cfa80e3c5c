interface Props {
  page: number;
  pageSize: number;
  count: number;
  pageSizes?: number[];
  onPageChange: (page: number) => void;
  onPageSizeChange?: (size: number) => void;
}

export function Pagination({ page, pageSize, count, pageSizes = [25, 50, 100, 200], onPageChange, onPageSizeChange }: Props) {
  const pages = Math.max(1, Math.ceil(count / pageSize));
  const first = count === 0 ? 0 : (page - 1) * pageSize + 1;
  const last = Math.min(count, page * pageSize);
  return (
    <nav className="pagination" aria-label="Pagination">
      <span className="muted" data-testid="pagination-range">
        {first}–{last} of {count.toLocaleString('en-US')}
      </span>
      <button type="button" className="btn btn-small" disabled={page <= 1} onClick={() => onPageChange(page - 1)}>
        ‹ Prev
      </button>
      <span>
        Page {page} / {pages}
      </span>
      <button type="button" className="btn btn-small" disabled={page >= pages} onClick={() => onPageChange(page + 1)}>
        Next ›
      </button>
      {onPageSizeChange && (
        <label className="inline-label">
          Per page
          <select value={pageSize} onChange={(e) => onPageSizeChange(Number(e.target.value))} aria-label="Page size">
            {pageSizes.map((size) => (
              <option key={size} value={size}>
                {size}
              </option>
            ))}
          </select>
        </label>
      )}
    </nav>
  );
}
