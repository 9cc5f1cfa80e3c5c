/**
 * The gallery's keyboard, as docs/clustering.md lists it. Pure: a key press in, an action
 * out, so the table can be tested without a page.
 */
import { REJECT_REASONS, type RejectReason } from '../api/schemas';

export type KeyAction =
  | { type: 'next' }
  | { type: 'nextUnreviewed' }
  | { type: 'previous' }
  | { type: 'accept'; shortcut: string }
  | { type: 'reject'; reason: RejectReason }
  | { type: 'unreviewed' }
  | { type: 'note' }
  | { type: 'weight' }
  | { type: 'merge' }
  | { type: 'similar' }
  | { type: 'viewer' }
  | { type: 'help' }
  | { type: 'escape' };

export interface KeyLike {
  key: string;
  shiftKey?: boolean;
  ctrlKey?: boolean;
  metaKey?: boolean;
  altKey?: boolean;
}

export function keyAction(e: KeyLike): KeyAction | null {
  if (e.ctrlKey || e.metaKey || e.altKey) return null;
  const { key } = e;
  if (key === 'Escape') return { type: 'escape' };
  if (key === '?') return { type: 'help' };
  if (key === 'J') return { type: 'nextUnreviewed' };
  if (key === 'j' || key === 'ArrowRight') return { type: 'next' };
  if (key === 'k' || key === 'ArrowLeft') return { type: 'previous' };
  if (/^[0-9]$/.test(key)) return { type: 'accept', shortcut: key };
  const reason = REJECT_REASONS.find((r) => r.key === key);
  if (reason) return { type: 'reject', reason: reason.value };
  switch (key) {
    case 'u':
      return { type: 'unreviewed' };
    case 'n':
      return { type: 'note' };
    case 'w':
      return { type: 'weight' };
    case 'm':
      return { type: 'merge' };
    case 's':
      return { type: 'similar' };
    case 'v':
      return { type: 'viewer' };
    default:
      return null;
  }
}

/** Keys typed into a form field are text, not commands (the note and weight fields handle Enter and Esc themselves). */
export function isTypingTarget(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable) return true;
  const tag = target.tagName;
  if (tag === 'TEXTAREA' || tag === 'SELECT') return true;
  if (tag !== 'INPUT') return false;
  const type = (target as HTMLInputElement).type;
  return !['checkbox', 'radio', 'button', 'submit', 'reset', 'range', 'color'].includes(type);
}

/** For the "?" overlay and the docs: [keys, what]. */
export const SHORTCUTS: Array<[string, string]> = [
  ['j  /  →', 'next cluster'],
  ['J', 'next unreviewed cluster'],
  ['k  /  ←', 'previous cluster'],
  ['1 – 9, 0', 'accept as the category with that shortcut'],
  ['b  a  f  p  o', 'reject: background, artefact, out of focus, pen, other'],
  ['u', 'back to unreviewed'],
  ['n', 'edit the note (Enter saves, Esc leaves)'],
  ['w', 'edit the weight (Enter saves, Esc leaves)'],
  ['m', 'merge this cluster into another'],
  ['s', 'more like this (first representative tile)'],
  ['v', 'open the first representative tile in the viewer'],
  ['?', 'show or hide these shortcuts'],
];
