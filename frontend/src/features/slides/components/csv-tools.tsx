import { buildUrl } from '@/lib/api';
import type { SlideListParams } from '../api/get-slides';

/** The export takes the list's filters; paging would only cut the file short. */
export function exportCsvUrl(params: SlideListParams): string {
  const { page: _page, page_size: _pageSize, ...filters } = params;
  return buildUrl('/api/slides/export.csv', filters);
}

interface Props {
  params: SlideListParams;
  canImport: boolean;
  importOpen: boolean;
  onToggleImport: () => void;
}

export function CsvTools({ params, canImport, importOpen, onToggleImport }: Props) {
  return (
    <span className="csv-tools">
      <a className="btn btn-small" href={exportCsvUrl(params)} download data-testid="export-csv">
        Export CSV
      </a>
      {canImport && (
        <button type="button" className="btn btn-small" aria-pressed={importOpen} onClick={onToggleImport}>
          Import CSV
        </button>
      )}
    </span>
  );
}
