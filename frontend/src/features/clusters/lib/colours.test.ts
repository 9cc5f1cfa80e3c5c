import type { SlideLabels } from '../api/schemas';
import { clusterLook, decidedLook, labelStyles, lookColour, withAlpha } from './colours';

const categories = [
  { id: 1, name: 'Tumour', colour: '#d62728', default_weight: 1, shortcut: '1', description: '', position: 1, cluster_count: 0 },
  { id: 2, name: 'Stroma', colour: '#e377c2', default_weight: 1, shortcut: '2', description: '', position: 2, cluster_count: 0 },
];

describe('cluster colours', () => {
  it('draws accepted and merged clusters in their category colour, the rest grey or hatched', () => {
    expect(clusterLook('accepted', '#D62728')).toEqual({ kind: 'category', colour: '#d62728' });
    expect(clusterLook('merged', '#e377c2')).toEqual({ kind: 'category', colour: '#e377c2' });
    expect(clusterLook('unreviewed', '#d62728')).toEqual({ kind: 'unreviewed' });
    expect(clusterLook('accepted', null)).toEqual({ kind: 'unreviewed' });
    expect(clusterLook('accepted', 'red')).toEqual({ kind: 'unreviewed' });
    expect(clusterLook('rejected', '#d62728')).toEqual({ kind: 'rejected' });
    expect(lookColour({ kind: 'unreviewed' })).toBe('#9aa0a6');
    expect(withAlpha('#d62728', 0.5)).toBe('rgba(214, 39, 40, 0.5)');
  });

  it('follows merges to the decision that applies', () => {
    const a = { id: 1, status: 'merged', category_colour: '', merged_into: 2 };
    const b = { id: 2, status: 'merged', category_colour: '', merged_into: 3 };
    const c = { id: 3, status: 'accepted', category_colour: '#2ca02c', merged_into: null };
    const byId = new Map([a, b, c].map((x) => [x.id, x]));
    expect(decidedLook(a, byId)).toEqual({ kind: 'category', colour: '#2ca02c' });
    const loop = { id: 4, status: 'merged', category_colour: '', merged_into: 4 };
    expect(decidedLook(loop, new Map([[4, loop]]))).toEqual({ kind: 'unreviewed' });
  });

  it('groups a slide’s tiles by look and builds the legend with tile counts', () => {
    const labels: SlideLabels = {
      size: 512,
      x: [0, 512, 1024, 1536, 2048, 2560],
      y: [0, 0, 0, 0, 0, 0],
      cluster_index: [4, 7, 4, 9, 2, 5],
      clusters: {
        '4': { id: 17, category: 1, colour: '#d62728', status: 'accepted' },
        '7': { id: 18, category: null, colour: '', status: 'rejected' },
        '9': { id: 19, category: null, colour: '', status: 'unreviewed' },
        '2': { id: 20, category: 2, colour: '#e377c2', status: 'merged' },
        // 5 is missing: drawn as unreviewed
      },
    };
    const styles = labelStyles(labels, categories);
    expect(styles.legend.map((e) => [e.label, e.tiles])).toEqual([
      ['Tumour', 2],
      ['Stroma', 1],
      ['Unreviewed', 2],
      ['Rejected', 1],
    ]);
    const lookOf = (i: number) => styles.looks[styles.styleOf[i]];
    expect(lookOf(0)).toEqual({ kind: 'category', colour: '#d62728' });
    expect(lookOf(2)).toBe(lookOf(0));
    expect(lookOf(1)).toEqual({ kind: 'rejected' });
    expect(lookOf(3)).toEqual({ kind: 'unreviewed' });
    expect(lookOf(5)).toBe(lookOf(3));
    expect(lookOf(4)).toEqual({ kind: 'category', colour: '#e377c2' });
  });

  it('names a colour the vocabulary no longer has by its hex value', () => {
    const labels: SlideLabels = { size: 256, x: [0], y: [0], cluster_index: [1], clusters: { '1': { id: 1, category: 99, colour: '#123456', status: 'accepted' } } };
    expect(labelStyles(labels, categories).legend[0].label).toBe('#123456');
  });
});
