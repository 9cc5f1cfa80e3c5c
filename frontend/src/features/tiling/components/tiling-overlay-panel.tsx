import type OpenSeadragon from 'openseadragon';
import { useState } from 'react';
import { ErrorMessage } from '@/components/error-message';
import { ApiError } from '@/lib/api-error';
import { apiAssetUrl } from '@/lib/asset-url';
import { useSlideTilings, useTileGrid } from '../api/slide-tilings';
import { useGridOverlay } from '../hooks/use-grid-overlay';
import { useMaskOverlay } from '../hooks/use-mask-overlay';
import { RunStatusBadge, TileProgress } from './run-progress';

/**
 * The mask PNG is white on tissue, black elsewhere. This filter turns white into green and
 * black into transparent, so the overlay tints tissue and leaves the background untouched.
 */
function MaskTintFilter() {
  return (
    <svg width="0" height="0" className="visually-hidden" aria-hidden="true">
      <filter id="tiling-tissue-tint" colorInterpolationFilters="sRGB">
        <feColorMatrix type="matrix" values="0 0 0 0 0  0.85 0 0 0 0  0.3 0 0 0 0  1 0 0 0 0" />
      </filter>
    </svg>
  );
}

interface Props {
  slideId: number;
  viewer: OpenSeadragon.Viewer;
}

/** Tissue mask and tile grid of one of the slide's tilings, over the viewer. Hidden when there are none. */
export function TilingOverlayPanel({ slideId, viewer }: Props) {
  const tilings = useSlideTilings(slideId);
  const [chosenId, setChosenId] = useState<number | null>(null);
  const [showMask, setShowMask] = useState(false);
  const [showGrid, setShowGrid] = useState(false);

  const list = tilings.data ?? [];
  const tiling = list.find((t) => t.id === chosenId) ?? list[0] ?? null;
  const done = tiling?.status === 'done';
  const maskUrl = showMask && done && tiling.mask_url ? apiAssetUrl(tiling.mask_url) : null;
  const grid = useTileGrid(showGrid && done ? tiling.id : null);
  useMaskOverlay(viewer, maskUrl);
  useGridOverlay(viewer, showGrid && done ? (grid.data ?? null) : null);

  if (tilings.isError) {
    // Overlays are optional: a server without the tiling API (404) should not clutter the viewer.
    if (tilings.error instanceof ApiError && tilings.error.status === 404) return null;
    return (
      <div className="tiling-panel">
        <ErrorMessage error={tilings.error} />
      </div>
    );
  }
  if (!tiling) return null;

  return (
    <div className="tiling-panel" role="region" aria-label="Tiling overlays">
      <MaskTintFilter />
      <label className="inline-label">
        Tiling
        <select aria-label="Tiling" value={tiling.id} onChange={(e) => setChosenId(Number(e.target.value))}>
          {list.map((t) => (
            <option key={t.id} value={t.id}>
              {t.config_name || `configuration #${t.config}`}
            </option>
          ))}
        </select>
      </label>
      <div className="tiling-facts" data-testid="tiling-facts">
        <RunStatusBadge status={tiling.status} />
        <span>{tiling.tile_count.toLocaleString('en-US')} tiles</span>
        {tiling.tissue_area_mm2 !== null && <span>{tiling.tissue_area_mm2.toFixed(2)} mm² tissue</span>}
      </div>
      {tiling.status === 'running' && <TileProgress done={tiling.tiles_done} total={tiling.tiles_total} />}
      {tiling.status === 'failed' && tiling.error && <div className="failure-reason">{tiling.error}</div>}
      <label className="check">
        <input type="checkbox" checked={showMask} disabled={!done || !tiling.mask_url} onChange={(e) => setShowMask(e.target.checked)} />
        Tissue mask
      </label>
      <label className="check">
        <input type="checkbox" checked={showGrid} disabled={!done} onChange={(e) => setShowGrid(e.target.checked)} />
        Tile grid
      </label>
      {showGrid && grid.isLoading && <span className="muted">Loading grid…</span>}
      {showGrid && grid.isError && <ErrorMessage error={grid.error} />}
    </div>
  );
}
