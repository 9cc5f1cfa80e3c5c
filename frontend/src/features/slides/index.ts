export { SlideBrowser } from './components/slide-browser';
// The viewer is exported from './viewer' so that it can be code-split.
