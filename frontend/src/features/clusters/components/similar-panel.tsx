import { Link } from 'react-router-dom';
import { ErrorMessage } from '@/components/error-message';
import { Loading } from '@/components/loading';
import { apiAssetUrl } from '@/lib/asset-url';
import { useSimilarTiles } from '../api/clusters';
import type { TileRef } from '../api/schemas';
import { tileViewerUrl } from './tile-links';

interface Props {
  runId: number;
  tile: TileRef;
  onClose: () => void;
  onCluster: (index: number) => void;
}

/** The nearest tiles across the run to one tile, each with the cluster it belongs to. */
export function SimilarPanel({ runId, tile, onClose, onCluster }: Props) {
  const similar = useSimilarTiles(runId, { slide: tile.slide, index: tile.index });
  return (
    <section className="similar-panel" aria-label="Similar tiles">
      <div className="page-head">
        <h3>
          More like tile {tile.index} of {tile.slide_name || `slide ${tile.slide}`}
        </h3>
        <span className="spacer" />
        <button type="button" className="btn btn-small" onClick={onClose}>
          Close
        </button>
      </div>
      {similar.isLoading && <Loading label="Searching…" />}
      {similar.isError && <ErrorMessage error={similar.error} onRetry={() => similar.refetch()} />}
      {similar.data && similar.data.results.length === 0 && <p className="muted">No similar tiles found.</p>}
      {similar.data && similar.data.results.length > 0 && (
        <ul className="exemplar-grid small">
          {similar.data.results.map((t) => (
            <li key={`${t.slide}-${t.index}`} className="exemplar" data-testid="similar-tile">
              <Link to={tileViewerUrl(t)} title={`${t.slide_name || `Slide ${t.slide}`}, tile ${t.index}`}>
                {t.url ? <img src={apiAssetUrl(t.url)} alt={`Tile ${t.index} of ${t.slide_name || `slide ${t.slide}`}`} loading="lazy" width={96} height={96} /> : <span className="thumb-placeholder tile-missing">no tile</span>}
              </Link>
              {t.cluster_index !== null && (
                <button type="button" className="tile-cluster" title={`Go to cluster #${t.cluster_index}`} onClick={() => onCluster(t.cluster_index as number)}>
                  #{t.cluster_index}
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
