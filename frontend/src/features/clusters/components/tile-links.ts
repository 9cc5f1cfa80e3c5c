import { paths } from '@/config/paths';
import type { TileRef } from '../api/schemas';

/** The slide viewer, zoomed to this tile (level-0 rectangle). */
export function tileViewerUrl(tile: Pick<TileRef, 'slide' | 'x' | 'y' | 'size'>): string {
  return tile.size ? paths.slideAt(tile.slide, { x: tile.x, y: tile.y, size: tile.size }) : paths.slide(tile.slide);
}
