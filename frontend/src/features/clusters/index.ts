export { ClustersPage } from './components/clusters-page';
export { SemanticCategoriesPage } from './components/categories-page';
export { ReviewGalleryPage } from './components/review-gallery-page';
// The viewer overlay has its own entry, './viewer', so it loads with the viewer's chunk.
