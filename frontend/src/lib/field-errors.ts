import { ApiError } from '@/lib/api-error';

/**
 * A 400's field messages, flattened: nested serializer errors such as
 * `{"embedding_model": {"name": ["…"]}}` become `"embedding_model.name"`.
 */
export function fieldErrors(error: unknown): Record<string, string> {
  if (!(error instanceof ApiError) || error.status !== 400) return {};
  const body = error.body as { fields?: unknown } | null;
  const out: Record<string, string> = {};
  const walk = (value: unknown, path: string) => {
    if (Array.isArray(value)) {
      if (value.every((v) => typeof v === 'string' || typeof v === 'number')) out[path] = value.map(String).join(' ');
      else value.forEach((v, i) => walk(v, `${path}.${i}`));
    } else if (value && typeof value === 'object') {
      for (const [key, v] of Object.entries(value)) walk(v, path ? `${path}.${key}` : key);
    } else if (value !== undefined && value !== null) {
      out[path] = String(value);
    }
  };
  walk(body?.fields ?? error.fields, '');
  return out;
}
