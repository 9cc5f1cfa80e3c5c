// Separate entry so the overlay panel loads with the (lazily loaded) slide viewer.
export { TilingOverlayPanel } from './components/tiling-overlay-panel';
