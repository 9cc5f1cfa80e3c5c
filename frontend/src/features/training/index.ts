export { TrainingPage } from './components/training-page';
export { TrainingRunPage } from './components/run-page';
