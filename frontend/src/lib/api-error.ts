/**
 * The one error type the UI deals with. `message` is always a sentence a person can read;
 * the server's `{detail, code, fields}` shape is kept for forms that show field errors.
 */
export type FieldErrors = Record<string, string[]>;

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly fields: FieldErrors;
  /** The parsed JSON answer, for endpoints whose error answer carries a report (CSV import). */
  readonly body: unknown;

  constructor(message: string, opts: { status: number; code: string; fields?: FieldErrors; body?: unknown }) {
    super(message);
    this.name = 'ApiError';
    this.status = opts.status;
    this.code = opts.code;
    this.fields = opts.fields ?? {};
    this.body = opts.body ?? null;
  }
}

/** status 0 means the request never got an HTTP answer. */
export const NETWORK_ERROR_MESSAGE =
  'Could not reach the server. Check your network connection and try again.';

export function serverProblemMessage(status: number): string {
  return `The server had a problem answering (HTTP ${status}). Please try again in a moment.`;
}

export const UNEXPECTED_ANSWER_MESSAGE =
  'The server sent an answer this page does not understand. Please reload; if it persists, tell an administrator.';

/** Turn anything thrown into text fit for the page — never a stack trace. */
export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  return 'Something went wrong. Please reload the page.';
}

export function isApiError(error: unknown, status?: number): error is ApiError {
  return error instanceof ApiError && (status === undefined || error.status === status);
}
