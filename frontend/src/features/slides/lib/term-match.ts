import type { TermOption } from '../api/get-categories';

/** A term matches typed text by name, code or any synonym (case-insensitive). */
export function termMatches(term: TermOption, query: string): boolean {
  const q = query.trim().toLowerCase();
  if (!q) return true;
  return [term.name, term.code, ...term.synonyms].some((text) => text.toLowerCase().includes(q));
}
