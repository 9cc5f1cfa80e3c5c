import { parseFocus, withMargin } from './focus';

describe('parseFocus', () => {
  it('reads a level-0 square from the query', () => {
    expect(parseFocus(new URLSearchParams('x=1024&y=2048&size=512'))).toEqual({ x: 1024, y: 2048, width: 512, height: 512 });
    expect(parseFocus(new URLSearchParams('x=0&y=0&size=256.5'))).toEqual({ x: 0, y: 0, width: 256.5, height: 256.5 });
  });

  it('ignores missing, empty or nonsensical values', () => {
    expect(parseFocus(new URLSearchParams(''))).toBeNull();
    expect(parseFocus(new URLSearchParams('x=1&y=2'))).toBeNull();
    expect(parseFocus(new URLSearchParams('x=&y=2&size=3'))).toBeNull();
    expect(parseFocus(new URLSearchParams('x=a&y=2&size=3'))).toBeNull();
    expect(parseFocus(new URLSearchParams('x=1&y=2&size=0'))).toBeNull();
  });

  it('adds a margin around the square', () => {
    expect(withMargin({ x: 100, y: 200, width: 40, height: 40 }, 0.5)).toEqual({ x: 80, y: 180, width: 80, height: 80 });
  });
});
