import { nextUnreviewed, stepIndex } from './navigation';

const list = [
  { index: 0, status: 'accepted' },
  { index: 1, status: 'unreviewed' },
  { index: 2, status: 'rejected' },
  { index: 3, status: 'unreviewed' },
];

describe('cluster navigation', () => {
  it('steps through the shown list and wraps', () => {
    expect(stepIndex(list, 0, 1)).toBe(1);
    expect(stepIndex(list, 3, 1)).toBe(0);
    expect(stepIndex(list, 0, -1)).toBe(3);
    expect(stepIndex(list, null, 1)).toBe(0);
    expect(stepIndex([], 2, 1)).toBeNull();
  });

  it('steps from a cluster the filter hides to its neighbours by index', () => {
    const shown = [list[0], list[3]];
    expect(stepIndex(shown, 1, 1)).toBe(3);
    expect(stepIndex(shown, 2, -1)).toBe(0);
  });

  it('finds the next unreviewed cluster after the current one, wrapping, or none', () => {
    expect(nextUnreviewed(list, 1)).toBe(3);
    expect(nextUnreviewed(list, 3)).toBe(1);
    expect(nextUnreviewed(list, null)).toBe(1);
    expect(nextUnreviewed(list.filter((c) => c.status !== 'unreviewed'), 0)).toBeNull();
  });
});
