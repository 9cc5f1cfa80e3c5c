export { SlideBrowser } from './components/slide-browser';
export { SlideViewerPage } from './components/slide-viewer-page';
