export { DatasetsPage } from './components/datasets-page';
export { DatasetPage } from './components/dataset-page';
