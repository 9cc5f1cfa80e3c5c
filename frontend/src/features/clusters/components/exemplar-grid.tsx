import { Link } from 'react-router-dom';
import { apiAssetUrl } from '@/lib/asset-url';
import type { TileRef } from '../api/schemas';
import { tileViewerUrl } from './tile-links';

interface Props {
  title: string;
  hint: string;
  tiles: TileRef[];
  onSimilar: (tile: TileRef) => void;
}

/** One kind of exemplar tiles as a grid of fixed-size images; a tile opens the viewer at its place. */
export function ExemplarGrid({ title, hint, tiles, onSimilar }: Props) {
  return (
    <section className="exemplar-section" aria-label={`${title} tiles`}>
      <h3>
        {title} <span className="hint">{hint}</span>
      </h3>
      {tiles.length === 0 ? (
        <p className="muted">None.</p>
      ) : (
        <ul className="exemplar-grid">
          {tiles.map((t) => (
            <li key={`${t.slide}-${t.index}`} className="exemplar" data-testid="exemplar-tile">
              <Link to={tileViewerUrl(t)} title={`${t.slide_name || `Slide ${t.slide}`}, tile ${t.index} at (${Math.round(t.x)}, ${Math.round(t.y)})`}>
                {t.url ? <img src={apiAssetUrl(t.url)} alt={`Tile ${t.index} of ${t.slide_name || `slide ${t.slide}`}`} loading="lazy" width={128} height={128} /> : <span className="thumb-placeholder tile-missing">no tile</span>}
              </Link>
              <button type="button" className="tile-action" title="More like this" aria-label="More like this" onClick={() => onSimilar(t)}>
                ≈
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
