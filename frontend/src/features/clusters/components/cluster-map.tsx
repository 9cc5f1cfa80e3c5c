import { useMemo } from 'react';
import type { Cluster, ClusterMap as MapData } from '../api/schemas';
import { clusterLook, decidedLook, lookColour } from '../lib/colours';
import { mapScale } from '../lib/map-scale';

const W = 280;
const H = 220;

interface Props {
  map: MapData;
  /** The live clusters by index: their decisions colour the centroids. */
  clusters: Map<number, Cluster>;
  current: number | null;
  onSelect: (index: number) => void;
}

/** The run's 2-D map: a faint tile sample, centroids coloured by decision; click one to go there. */
export function ClusterMapView({ map, clusters, current, onSelect }: Props) {
  const scale = useMemo(() => mapScale([...map.centroids, ...map.tiles], W, H), [map]);
  const maxSize = Math.max(1, ...map.centroids.map((c) => c.size));
  const tiles = useMemo(
    () => map.tiles.map((t, i) => <circle key={i} cx={scale.x(t.x)} cy={scale.y(t.y)} r={1.1} className="map-tile" />),
    [map, scale],
  );
  const byId = useMemo(() => new Map([...clusters.values()].map((c) => [c.id, c])), [clusters]);
  const ordered = [...map.centroids].sort((a, b) => (a.index === current ? 1 : b.index === current ? -1 : 0));
  return (
    <svg className="cluster-map" viewBox={`0 0 ${W} ${H}`} role="group" aria-label={`Cluster map (${map.method || 'projection'})`}>
      <defs>
        <pattern id="cluster-hatch" width="4" height="4" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">
          <rect width="4" height="4" fill="#2b2b30" />
          <line x1="0" y1="0" x2="0" y2="4" stroke="#d0d0d0" strokeWidth="1.4" />
        </pattern>
      </defs>
      <g>{tiles}</g>
      {ordered.map((c) => {
        const live = clusters.get(c.index);
        const look = live ? decidedLook(live, byId) : clusterLook(c.status, c.category_colour);
        const r = 3 + 6 * Math.sqrt(c.size / maxSize);
        const isCurrent = c.index === current;
        return (
          <circle
            key={c.index}
            cx={scale.x(c.x)}
            cy={scale.y(c.y)}
            r={isCurrent ? r + 2 : r}
            fill={look.kind === 'rejected' ? 'url(#cluster-hatch)' : lookColour(look)}
            className={`map-centroid${isCurrent ? ' is-current' : ''}`}
            data-testid="map-centroid"
            data-index={c.index}
            role="button"
            aria-label={`Cluster ${c.index}`}
            onClick={() => onSelect(c.index)}
          >
            <title>{`#${c.index} · ${c.size.toLocaleString('en-US')} tiles · ${live?.category_name || live?.status || c.status}`}</title>
          </circle>
        );
      })}
    </svg>
  );
}
