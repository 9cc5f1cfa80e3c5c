import OpenSeadragon from 'openseadragon';
import { useEffect, useRef, useState, type ReactNode } from 'react';
import { env } from '@/config/env';
import type { Dzi } from '../api/slide-schemas';
import { useFocusRect } from '../hooks/use-focus-rect';
import type { FocusRect } from '../lib/focus';
import { ScaleBar } from './scale-bar';

function Icon({ d }: { d: string }) {
  return (
    <svg viewBox="0 0 16 16" fill="none" stroke="currentColor" strokeWidth="1.6" aria-hidden="true">
      <path d={d} />
    </svg>
  );
}

interface Props {
  dzi: Dzi;
  mpp: number | null;
  /** Rendered over the image once the viewer exists (panels that draw on it). */
  overlay?: (viewer: OpenSeadragon.Viewer) => ReactNode;
  /** Open zoomed to this level-0 rectangle, outlined (e.g. a tile from the cluster gallery). */
  focus?: FocusRect | null;
}

/**
 * The deep-zoom viewer. OpenSeadragon's own buttons need image files from a `prefixUrl`;
 * we draw our own controls instead, so nothing is fetched from a CDN.
 */
export function OsdViewer({ dzi, mpp, overlay, focus = null }: Props) {
  const hostRef = useRef<HTMLDivElement>(null);
  const [viewer, setViewer] = useState<OpenSeadragon.Viewer | null>(null);
  const [fullPage, setFullPage] = useState(false);
  const [openError, setOpenError] = useState<string | null>(null);

  useEffect(() => {
    if (!hostRef.current) return undefined;
    const tileSource = {
      ...dzi,
      Image: {
        // OpenSeadragon recognises a DZI object by this namespace.
        xmlns: 'http://schemas.microsoft.com/deepzoom/2008',
        ...dzi.Image,
        Url: dzi.Image.Url.startsWith('/') ? `${env.apiUrl}${dzi.Image.Url}` : dzi.Image.Url,
      },
    };
    const instance = OpenSeadragon({
      element: hostRef.current,
      tileSources: tileSource as unknown as OpenSeadragon.TileSourceOptions,
      showNavigationControl: false,
      showNavigator: true,
      navigatorPosition: 'BOTTOM_RIGHT',
      navigatorSizeRatio: 0.18,
      // The canvas drawer behaves the same with or without GPU (headless test browsers too).
      drawer: 'canvas',
      visibilityRatio: 0.5,
      minZoomImageRatio: 0.5,
      maxZoomPixelRatio: 2,
      animationTime: 0.6,
      timeout: 120_000,
      gestureSettingsMouse: { clickToZoom: false, dblClickToZoom: true },
    } as OpenSeadragon.Options);
    instance.addHandler('open-failed', () => setOpenError('The slide image could not be opened.'));
    setViewer(instance);
    return () => {
      setViewer(null);
      instance.destroy();
    };
  }, [dzi]);

  useFocusRect(viewer, focus);

  useEffect(() => {
    if (!fullPage) return undefined;
    const onKey = (e: KeyboardEvent) => e.key === 'Escape' && setFullPage(false);
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [fullPage]);

  const zoomBy = (factor: number) => {
    viewer?.viewport.zoomBy(factor);
    viewer?.viewport.applyConstraints();
  };

  return (
    // Full page is plain CSS on our frame: OpenSeadragon's setFullPage would move a
    // React-owned node around the document.
    <div className={`viewer-frame ${fullPage ? 'is-full-page' : ''}`}>
      <div ref={hostRef} className="osd-host" data-testid="slide-viewer" />
      <div className="viewer-controls" role="toolbar" aria-label="Viewer controls">
        <button type="button" title="Zoom in" aria-label="Zoom in" data-testid="zoom-in" onClick={() => zoomBy(1.6)}>
          <Icon d="M8 3v10M3 8h10" />
        </button>
        <button type="button" title="Zoom out" aria-label="Zoom out" onClick={() => zoomBy(1 / 1.6)}>
          <Icon d="M3 8h10" />
        </button>
        <button type="button" title="Fit whole slide" aria-label="Home" onClick={() => viewer?.viewport.goHome()}>
          <Icon d="M2 8l6-5 6 5M4 7v6h8V7" />
        </button>
        <button
          type="button"
          title={fullPage ? 'Exit full page (Esc)' : 'Full page'}
          aria-label={fullPage ? 'Exit full page' : 'Full page'}
          aria-pressed={fullPage}
          onClick={() => setFullPage((v) => !v)}
        >
          <Icon d={fullPage ? 'M6 2v4H2M10 2v4h4M6 14v-4H2M10 14v-4h4' : 'M2 6V2h4M14 6V2h-4M2 10v4h4M14 10v4h-4'} />
        </button>
      </div>
      <ScaleBar viewer={viewer} mpp={mpp} />
      {viewer && overlay?.(viewer)}
      {openError && (
        <div className="error-message viewer-error" role="alert">
          {openError}
        </div>
      )}
    </div>
  );
}
