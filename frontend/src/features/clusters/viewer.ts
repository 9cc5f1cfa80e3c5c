// Separate entry so the overlay panel loads with the (lazily loaded) slide viewer.
export { ClusterLabelPanel } from './components/cluster-label-panel';
