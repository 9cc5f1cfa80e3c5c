import { z } from 'zod';
import { env } from '@/config/env';
import {
  ApiError,
  type FieldErrors,
  NETWORK_ERROR_MESSAGE,
  UNEXPECTED_ANSWER_MESSAGE,
  serverProblemMessage,
} from './api-error';

/**
 * The app's single HTTP client. Session-cookie auth: Django wants the `csrftoken` cookie
 * echoed in `X-CSRFToken` on unsafe methods, and `GET /api/auth/csrf/` sets that cookie.
 */

const UNSAFE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export type QueryValue = string | number | boolean | null | undefined | Array<string | number>;
export type QueryParams = Record<string, QueryValue>;

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  params?: QueryParams;
  body?: unknown;
  signal?: AbortSignal;
}

export function readCookie(name: string): string | null {
  for (const part of document.cookie.split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return decodeURIComponent(rest.join('='));
  }
  return null;
}

let csrfRequest: Promise<void> | null = null;

/** Make sure the CSRF cookie exists; concurrent callers share one request. */
export function ensureCsrf(force = false): Promise<void> {
  if (!force && readCookie('csrftoken')) return Promise.resolve();
  if (!csrfRequest || force) {
    csrfRequest = request('/api/auth/csrf/', {}).then(
      () => undefined,
      (err: unknown) => {
        csrfRequest = null;
        throw err;
      },
    );
  }
  return csrfRequest;
}

/** Test hook: forget the in-flight CSRF request between tests. */
export function resetCsrfForTests(): void {
  csrfRequest = null;
}

export function buildUrl(path: string, params?: QueryParams): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params ?? {})) {
    if (value === undefined || value === null || value === '') continue;
    if (Array.isArray(value)) value.forEach((v) => search.append(key, String(v)));
    else search.append(key, String(value));
  }
  const qs = search.toString();
  return `${env.apiUrl}${path}${qs ? `?${qs}` : ''}`;
}

async function request(path: string, opts: RequestOptions): Promise<Response> {
  const method = opts.method ?? 'GET';
  const headers: Record<string, string> = { Accept: 'application/json' };
  // FormData (file uploads) sets its own multipart Content-Type with the boundary.
  const isForm = typeof FormData !== 'undefined' && opts.body instanceof FormData;
  if (opts.body !== undefined && !isForm) headers['Content-Type'] = 'application/json';
  if (UNSAFE_METHODS.has(method)) {
    const token = readCookie('csrftoken');
    if (token) headers['X-CSRFToken'] = token;
  }
  try {
    return await fetch(buildUrl(path, opts.params), {
      method,
      headers,
      body: opts.body === undefined ? undefined : isForm ? (opts.body as FormData) : JSON.stringify(opts.body),
      credentials: 'same-origin',
      signal: opts.signal,
    });
  } catch (err) {
    if (err instanceof DOMException && err.name === 'AbortError') throw err;
    throw new ApiError(NETWORK_ERROR_MESSAGE, { status: 0, code: 'network_error' });
  }
}

function fieldsFrom(value: unknown): FieldErrors {
  if (!value || typeof value !== 'object') return {};
  const out: FieldErrors = {};
  for (const [key, messages] of Object.entries(value as Record<string, unknown>)) {
    out[key] = Array.isArray(messages) ? messages.map(String) : [String(messages)];
  }
  return out;
}

/** Build an ApiError from a non-2xx answer, whatever its body looks like. */
export async function toApiError(response: Response): Promise<ApiError> {
  let body: unknown = null;
  try {
    body = await response.json();
  } catch {
    // Non-JSON (a proxy's HTML 502 page, an empty body): fall through to a generic sentence.
  }
  const { status } = response;
  if (body && typeof body === 'object') {
    const b = body as { detail?: unknown; code?: unknown; fields?: unknown };
    const fields = fieldsFrom(b.fields);
    let message = typeof b.detail === 'string' && b.detail ? b.detail : '';
    const fieldText = Object.entries(fields)
      .map(([field, msgs]) => (field === 'non_field_errors' ? msgs.join(' ') : `${field}: ${msgs.join(' ')}`))
      .join(' ');
    if (fieldText && !message.includes(fieldText)) message = message ? `${message} ${fieldText}` : fieldText;
    if (message) {
      return new ApiError(message, { status, code: typeof b.code === 'string' ? b.code : 'error', fields, body });
    }
  }
  if (status >= 500) return new ApiError(serverProblemMessage(status), { status, code: 'server_error' });
  const fallback: Record<number, string> = {
    401: 'You are not logged in.',
    403: "You don't have access to this.",
    404: 'Not found.',
    429: 'Too many requests. Please wait a moment and try again.',
  };
  return new ApiError(fallback[status] ?? `The request failed (HTTP ${status}).`, { status, code: 'error', body });
}

/**
 * Call the API and validate the JSON answer against `schema`. A 204 yields `undefined`
 * (pass `null` as the schema for endpoints that answer without a body).
 */
export async function api<T>(path: string, schema: z.ZodType<T>, opts?: RequestOptions): Promise<T>;
export async function api(path: string, schema: null, opts?: RequestOptions): Promise<void>;
export async function api<T>(path: string, schema: z.ZodType<T> | null, opts: RequestOptions = {}) {
  if (UNSAFE_METHODS.has(opts.method ?? 'GET')) await ensureCsrf();
  const response = await request(path, opts);
  if (!response.ok) throw await toApiError(response);
  if (schema === null || response.status === 204) return undefined;
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    throw new ApiError(UNEXPECTED_ANSWER_MESSAGE, { status: response.status, code: 'invalid_response' });
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    // The detail goes to the console for developers; the page gets a sentence.
    console.warn(`Unexpected answer from ${path}`, parsed.error.issues);
    throw new ApiError(UNEXPECTED_ANSWER_MESSAGE, { status: response.status, code: 'invalid_response' });
  }
  return parsed.data;
}

/** `{count, next, previous, results}` wrapper used by every list endpoint. */
export function paginated<T extends z.ZodTypeAny>(item: T) {
  return z.object({
    count: z.number(),
    next: z.string().nullable(),
    previous: z.string().nullable(),
    results: z.array(item),
  });
}

/** A list endpoint may answer a bare array or the paginated wrapper; callers get the array. */
export function listOf<T extends z.ZodTypeAny>(item: T) {
  return z.union([z.array(item), paginated(item)]).transform((v) => (Array.isArray(v) ? v : v.results) as Array<z.output<T>>);
}

export interface Page<T> {
  count: number;
  next: string | null;
  previous: string | null;
  results: T[];
}
