export { TilingPage } from './components/tiling-page';
export { RunDetailPage } from './components/run-detail-page';
// "Tile…" (slide browser) and the viewer overlays have their own entries, './selection-action'
// and './viewer', so that each loads with the chunk that uses it.
