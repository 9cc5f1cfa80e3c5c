import { ErrorMessage } from '@/components/error-message';
import { Loading } from '@/components/loading';
import { Pagination } from '@/components/pagination';
import { useState, type ReactNode } from 'react';
import { useSlides } from '../api/get-slides';
import { useSelection } from '../hooks/use-selection';
import { useSlideFilters } from '../hooks/use-slide-filters';
import { BulkActions } from './bulk-actions';
import { CsvImportForm } from './csv-import-form';
import { CsvTools } from './csv-tools';
import { SelectionToolbar } from './selection-toolbar';
import { SlideFilters } from './slide-filters';
import { SlideGrid } from './slide-grid';
import { SlideTable } from './slide-table';
import { ViewToggle } from './view-toggle';

interface Props {
  /** The user may tag, review and import (pathologist, admin); the server enforces it too. */
  canEdit?: boolean;
  /** More actions on the selection, supplied by other features through the app layer. */
  renderSelectionActions?: (slideIds: number[]) => ReactNode;
}

export function SlideBrowser({ canEdit = false, renderSelectionActions }: Props) {
  const { filters, apiParams, update, clear } = useSlideFilters();
  const slidesQuery = useSlides(apiParams);
  const selection = useSelection();
  const [importOpen, setImportOpen] = useState(false);

  const slides = slidesQuery.data?.results ?? [];
  const pageIds = slides.map((s) => s.id);
  const allOnPageSelected = pageIds.length > 0 && pageIds.every((id) => selection.selected.has(id));
  const toggleAllOnPage = () => selection.setMany(pageIds, !allOnPageSelected);

  return (
    <div className="browser-layout">
      <SlideFilters filters={filters} update={update} clear={clear} />
      <section className="browser-main" aria-label="Slide list">
        <div className="browser-toolbar">
          <h1>Slides</h1>
          <span className="muted" data-testid="slide-count">
            {slidesQuery.data ? `${slidesQuery.data.count.toLocaleString('en-US')} slides` : ''}
          </span>
          {slidesQuery.isFetching && !slidesQuery.isLoading && <span className="spinner" aria-label="Updating" />}
          <span className="spacer" />
          <CsvTools params={apiParams} canImport={canEdit} importOpen={importOpen} onToggleImport={() => setImportOpen(!importOpen)} />
          <ViewToggle view={filters.view} onChange={(view) => update({ view })} />
        </div>
        {canEdit && importOpen && <CsvImportForm onClose={() => setImportOpen(false)} />}
        <SelectionToolbar
          selectedCount={selection.selected.size}
          allOnPageSelected={allOnPageSelected}
          onToggleAllOnPage={toggleAllOnPage}
          onClear={selection.clear}
          disabled={pageIds.length === 0}
        >
          {canEdit && selection.selected.size > 0 && <BulkActions slideIds={[...selection.selected]} />}
          {selection.selected.size > 0 && renderSelectionActions?.([...selection.selected])}
        </SelectionToolbar>
        {slidesQuery.isLoading && <Loading label="Loading slides…" />}
        {slidesQuery.isError && <ErrorMessage error={slidesQuery.error} onRetry={() => slidesQuery.refetch()} />}
        {slidesQuery.data && slides.length === 0 && (
          <p className="empty" data-testid="no-slides">
            No slides match these filters.
          </p>
        )}
        {slides.length > 0 &&
          (filters.view === 'table' ? (
            <SlideTable
              slides={slides}
              selected={selection.selected}
              onToggle={selection.toggle}
              allOnPageSelected={allOnPageSelected}
              onToggleAllOnPage={toggleAllOnPage}
            />
          ) : (
            <SlideGrid slides={slides} selected={selection.selected} onToggle={selection.toggle} />
          ))}
        {slidesQuery.data && slidesQuery.data.count > 0 && (
          <Pagination
            page={filters.page}
            pageSize={filters.page_size}
            count={slidesQuery.data.count}
            onPageChange={(page) => update({ page })}
            onPageSizeChange={(page_size) => update({ page_size })}
          />
        )}
      </section>
    </div>
  );
}
