// Separate entry so the router can load the viewer (and OpenSeadragon) only when needed.
export { SlideViewerPage } from './components/slide-viewer-page';
