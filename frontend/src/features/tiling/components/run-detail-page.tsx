import { useEffect, useRef, useState } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { Link, useParams } from 'react-router-dom';
import { ErrorMessage } from '@/components/error-message';
import { Loading } from '@/components/loading';
import { PageMessage } from '@/components/page-message';
import { Pagination } from '@/components/pagination';
import { paths } from '@/config/paths';
import { formatDateTime } from '@/utils/format';
import { useRunSlides } from '../api/run-slides';
import { useTilingRun } from '../api/runs';
import { isActive, SLIDE_TILING_STATUSES, tilingKeys } from '../api/schemas';
import { RunProgress, RunStatusBadge } from './run-progress';
import { RunSlidesTable } from './run-slides-table';
import { TileGallery } from './tile-gallery';

export function RunDetailPage() {
  const { runId } = useParams();
  const id = Number(runId);
  const valid = Number.isInteger(id) && id > 0;
  const run = useTilingRun(valid ? id : 0);
  const [status, setStatus] = useState('');
  const [page, setPage] = useState(1);
  const [pageSize, setPageSize] = useState(50);
  const live = run.data ? isActive(run.data.status) : false;
  const slides = useRunSlides(id, { status: status || undefined, page, page_size: pageSize }, live);
  const queryClient = useQueryClient();
  const wasLive = useRef(live);
  useEffect(() => {
    // The last poll may predate the last slide finishing: refresh once when the run ends.
    if (wasLive.current && !live) {
      void queryClient.invalidateQueries({ queryKey: tilingKeys.runSlides(id, {}).slice(0, 4) });
      void queryClient.invalidateQueries({ queryKey: tilingKeys.gallery(id) });
    }
    wasLive.current = live;
  }, [live, id, queryClient]);

  if (!valid) return <PageMessage title="Run not found" />;

  return (
    <div className="page">
      <Link to={paths.tiling}>← Tiling</Link>
      <h1>Tiling run #{id}</h1>
      {run.isLoading && <Loading />}
      {run.isError && <ErrorMessage error={run.error} onRetry={() => run.refetch()} />}
      {run.data && (
        <div className="run-summary" data-testid="run-summary">
          <div className="scan-head">
            <RunStatusBadge status={run.data.status} />
            <span>{run.data.config_name || `configuration #${run.data.config}`}</span>
            <span className="muted">
              {formatDateTime(run.data.created_at)}
              {run.data.finished_at ? ` → ${formatDateTime(run.data.finished_at)}` : ''}
            </span>
          </div>
          <RunProgress run={run.data} />
          <div>
            Tiles <strong data-testid="run-tile-count">{run.data.tile_count.toLocaleString('en-US')}</strong>
          </div>
        </div>
      )}

      <div className="page-head">
        <h2>Slides</h2>
        <label className="inline-label">
          Status
          <select
            aria-label="Filter by status"
            value={status}
            onChange={(e) => {
              setStatus(e.target.value);
              setPage(1);
            }}
          >
            <option value="">All</option>
            {SLIDE_TILING_STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
      </div>
      {slides.isLoading && <Loading />}
      {slides.isError && <ErrorMessage error={slides.error} onRetry={() => slides.refetch()} />}
      {slides.data && (
        <>
          <RunSlidesTable tilings={slides.data.results} />
          {slides.data.count > 0 && (
            <Pagination
              page={page}
              pageSize={pageSize}
              count={slides.data.count}
              onPageChange={setPage}
              onPageSizeChange={(size) => {
                setPageSize(size);
                setPage(1);
              }}
            />
          )}
        </>
      )}

      <TileGallery runId={id} />
    </div>
  );
}
