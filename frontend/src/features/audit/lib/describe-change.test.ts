import { describeChange, formatValue } from './describe-change';

describe('describeChange', () => {
  it('keeps only the keys that changed', () => {
    expect(describeChange({ status: 'tagged', reason: '' }, { status: 'excluded', reason: 'blurry' })).toEqual([
      { key: 'status', before: 'tagged', after: 'excluded' },
      { key: 'reason', before: '∅', after: 'blurry' },
    ]);
  });

  it('shows a creation and a deletion as one-sided', () => {
    expect(describeChange(null, { term: 'H&E' })).toEqual([{ key: 'term', before: null, after: 'H&E' }]);
    expect(describeChange({ term: 'H&E' }, null)).toEqual([{ key: 'term', before: 'H&E', after: null }]);
  });

  it('formats lists and long objects compactly', () => {
    expect(formatValue(['a', 'b'])).toBe('a, b');
    expect(formatValue({ x: 'y'.repeat(200) }).length).toBe(80);
  });
});
