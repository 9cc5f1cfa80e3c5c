import { Link } from 'react-router-dom';
import { ErrorMessage } from '@/components/error-message';
import { Loading } from '@/components/loading';
import { paths } from '@/config/paths';
import { apiAssetUrl } from '@/lib/asset-url';
import { useGallery } from '../api/run-slides';

/** Random tiles as the tiler read them: a quick look at what a model would be trained on. */
export function TileGallery({ runId }: { runId: number }) {
  const gallery = useGallery(runId);
  return (
    <section aria-label="Gallery">
      <div className="page-head">
        <h2>Gallery</h2>
        <button type="button" className="btn btn-small" disabled={gallery.isFetching} onClick={() => gallery.refetch()}>
          Shuffle
        </button>
      </div>
      {gallery.isLoading && <Loading />}
      {gallery.isError && <ErrorMessage error={gallery.error} onRetry={() => gallery.refetch()} />}
      {gallery.data && gallery.data.length === 0 && <p className="muted">No tiles yet.</p>}
      {gallery.data && gallery.data.length > 0 && (
        <ul className="tile-gallery">
          {gallery.data.map((tile) => (
            <li key={`${tile.tiling}-${tile.index}`}>
              <Link to={paths.slide(tile.slide)} title={`Slide ${tile.slide}, tile ${tile.index} at (${tile.x}, ${tile.y})`}>
                <img src={apiAssetUrl(tile.url)} alt={`Tile ${tile.index} of slide ${tile.slide}`} loading="lazy" />
              </Link>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
