export { SlideRootsPage } from './components/slide-roots-page';
