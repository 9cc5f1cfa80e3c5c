/**
 * Audit rows carry free-form JSON before/after snapshots. For a table cell only the
 * difference matters: the keys whose values changed, each as "key: old → new".
 */
export interface ChangePart {
  key: string;
  before: string | null;
  after: string | null;
}

const MAX_TEXT = 80;

export function formatValue(value: unknown): string {
  if (value === null || value === undefined || value === '') return '∅';
  if (Array.isArray(value)) return value.length ? value.map(formatValue).join(', ') : '∅';
  if (typeof value === 'object') {
    const text = JSON.stringify(value);
    return text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT - 1)}…` : text;
  }
  return String(value);
}

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

export function describeChange(before: unknown, after: unknown): ChangePart[] {
  if (isRecord(before) || isRecord(after)) {
    const b = isRecord(before) ? before : {};
    const a = isRecord(after) ? after : {};
    const keys = [...new Set([...Object.keys(b), ...Object.keys(a)])];
    return keys
      .filter((key) => JSON.stringify(b[key]) !== JSON.stringify(a[key]))
      .map((key) => ({
        key,
        before: key in b && before !== null ? formatValue(b[key]) : null,
        after: key in a && after !== null ? formatValue(a[key]) : null,
      }));
  }
  if (before === null && after === null) return [];
  return [{ key: '', before: before === null ? null : formatValue(before), after: after === null ? null : formatValue(after) }];
}
