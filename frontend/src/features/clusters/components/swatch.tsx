import { lookColour, type ClusterLook } from '../lib/colours';

/** A small square in the cluster's colour; rejected clusters are hatched. */
export function ClusterSwatch({ look }: { look: ClusterLook }) {
  return <span className={`swatch swatch-${look.kind}`} style={{ background: look.kind === 'rejected' ? undefined : lookColour(look) }} aria-hidden="true" />;
}
