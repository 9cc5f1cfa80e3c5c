import type OpenSeadragon from 'openseadragon';
import { useMemo, type ReactNode } from 'react';
import { Link, useLocation, useNavigate, useParams, useSearchParams } from 'react-router-dom';
import { ErrorMessage } from '@/components/error-message';
import { Loading } from '@/components/loading';
import { PageMessage } from '@/components/page-message';
import { paths } from '@/config/paths';
import { useDzi } from '../api/get-dzi';
import { useSlide } from '../api/get-slide';
import { parseFocus } from '../lib/focus';
import { MetadataPanel } from './metadata-panel';
import { OsdViewer } from './osd-viewer';
import { StatusBadge } from './status-badge';

interface Props {
  /** The user may tag and review (pathologist, admin); the server enforces it too. */
  canEdit?: boolean;
  /** Extra layers over the open image (e.g. tiling overlays), supplied through the app layer. */
  renderOverlay?: (viewer: OpenSeadragon.Viewer, slideId: number) => ReactNode;
}

export function SlideViewerPage({ canEdit = false, renderOverlay }: Props) {
  const { slideId } = useParams();
  const location = useLocation();
  const navigate = useNavigate();
  const id = Number(slideId);
  const slideQuery = useSlide(id);
  const slide = slideQuery.data;
  const viewable = slide?.status === 'registered';
  const dziQuery = useDzi(id, viewable);
  const [searchParams] = useSearchParams();
  // `?x=&y=&size=`: open zoomed to that square. Keyed on the text, so the rectangle keeps its identity.
  const focusKey = ['x', 'y', 'size'].map((k) => `${k}=${encodeURIComponent(searchParams.get(k) ?? '')}`).join('&');
  const focus = useMemo(() => parseFocus(new URLSearchParams(focusKey)), [focusKey]);

  if (!Number.isInteger(id) || id <= 0) return <PageMessage title="Slide not found" />;

  return (
    <div className="viewer-layout">
      <div className="viewer-topbar">
        <Link
          to={paths.slides}
          onClick={(e) => {
            // Return to the filtered list the user came from; 'default' means a direct visit.
            if (location.key !== 'default') {
              e.preventDefault();
              navigate(-1);
            }
          }}
        >
          ← Slides
        </Link>
        {slide && <span className="viewer-name">{slide.name}</span>}
      </div>
      <div className="viewer-body">
        <section className="viewer-main" aria-label="Slide image">
          {slideQuery.isLoading && <Loading label="Loading slide…" />}
          {slideQuery.isError && <ErrorMessage error={slideQuery.error} onRetry={() => slideQuery.refetch()} />}
          {slide && !viewable && (
            <div className="slide-unavailable" data-testid="slide-unavailable">
              <StatusBadge status={slide.status} />
              <p>
                This slide cannot be shown
                {slide.status === 'missing' ? ': its file is no longer found on disk.' : '.'}
              </p>
              {slide.failure_reason && <p className="failure-reason">{slide.failure_reason}</p>}
            </div>
          )}
          {viewable && dziQuery.isLoading && <Loading label="Opening image…" />}
          {viewable && dziQuery.isError && <ErrorMessage error={dziQuery.error} onRetry={() => dziQuery.refetch()} />}
          {viewable && dziQuery.data && (
            <OsdViewer
              dzi={dziQuery.data}
              mpp={dziQuery.data.mpp.x ?? slide.mpp_x}
              focus={focus}
              overlay={renderOverlay ? (viewer) => renderOverlay(viewer, id) : undefined}
            />
          )}
        </section>
        {slide && <MetadataPanel slide={slide} canEdit={canEdit} />}
      </div>
    </div>
  );
}
