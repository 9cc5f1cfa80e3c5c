import { isTypingTarget, keyAction } from './keyboard';

describe('gallery keys', () => {
  it('maps the documented keys', () => {
    expect(keyAction({ key: 'j' })).toEqual({ type: 'next' });
    expect(keyAction({ key: 'ArrowRight' })).toEqual({ type: 'next' });
    expect(keyAction({ key: 'J', shiftKey: true })).toEqual({ type: 'nextUnreviewed' });
    expect(keyAction({ key: 'k' })).toEqual({ type: 'previous' });
    expect(keyAction({ key: 'ArrowLeft' })).toEqual({ type: 'previous' });
    expect(keyAction({ key: '0' })).toEqual({ type: 'accept', shortcut: '0' });
    expect(keyAction({ key: '7' })).toEqual({ type: 'accept', shortcut: '7' });
    expect(['b', 'a', 'f', 'p', 'o'].map((key) => keyAction({ key }))).toEqual(
      ['background', 'artefact', 'out_of_focus', 'pen', 'other'].map((reason) => ({ type: 'reject', reason })),
    );
    expect(['u', 'n', 'w', 'm', 's', 'v', '?', 'Escape'].map((key) => keyAction({ key })?.type)).toEqual([
      'unreviewed',
      'note',
      'weight',
      'merge',
      'similar',
      'viewer',
      'help',
      'escape',
    ]);
  });

  it('leaves other keys and browser shortcuts alone', () => {
    expect(keyAction({ key: 'x' })).toBeNull();
    expect(keyAction({ key: 'Enter' })).toBeNull();
    expect(keyAction({ key: 'r', ctrlKey: true })).toBeNull();
    expect(keyAction({ key: '1', metaKey: true })).toBeNull();
    expect(keyAction({ key: 'j', altKey: true })).toBeNull();
  });

  it('treats text fields as typing, buttons and checkboxes not', () => {
    const input = document.createElement('input');
    const checkbox = Object.assign(document.createElement('input'), { type: 'checkbox' });
    expect(isTypingTarget(input)).toBe(true);
    expect(isTypingTarget(document.createElement('textarea'))).toBe(true);
    expect(isTypingTarget(document.createElement('select'))).toBe(true);
    expect(isTypingTarget(checkbox)).toBe(false);
    expect(isTypingTarget(document.createElement('button'))).toBe(false);
    expect(isTypingTarget(document.body)).toBe(false);
    expect(isTypingTarget(null)).toBe(false);
  });
});
