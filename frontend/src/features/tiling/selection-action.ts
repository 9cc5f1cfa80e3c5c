// Separate entry so the slide browser's bundle holds only "Tile…", not the tiling pages.
export { TileSlidesAction } from './components/tile-slides-action';
