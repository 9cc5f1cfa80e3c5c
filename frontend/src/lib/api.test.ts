import { http, HttpResponse } from 'msw';
import { z } from 'zod';
import { server } from '@/testing/server';
import { api, ensureCsrf } from './api';
import { ApiError, NETWORK_ERROR_MESSAGE } from './api-error';

const ok = z.object({ ok: z.boolean() });

describe('api client', () => {
  it('fetches the CSRF cookie first and sends it as X-CSRFToken on unsafe methods', async () => {
    let seenToken: string | null = null;
    let csrfCalls = 0;
    server.use(
      http.get('*/api/auth/csrf/', () => {
        csrfCalls += 1;
        document.cookie = 'csrftoken=abc%2F123; path=/';
        return new HttpResponse(null, { status: 204 });
      }),
      http.post('*/api/things/', ({ request }) => {
        seenToken = request.headers.get('X-CSRFToken');
        return HttpResponse.json({ ok: true });
      }),
    );
    await expect(api('/api/things/', ok, { method: 'POST', body: {} })).resolves.toEqual({ ok: true });
    await api('/api/things/', ok, { method: 'POST', body: {} });
    expect(seenToken).toBe('abc/123');
    expect(csrfCalls).toBe(1);
  });

  it('does not send the CSRF header on GET', async () => {
    document.cookie = 'csrftoken=tok; path=/';
    let header: string | null = 'unset';
    server.use(
      http.get('*/api/things/', ({ request }) => {
        header = request.headers.get('X-CSRFToken');
        return HttpResponse.json({ ok: true });
      }),
    );
    await api('/api/things/', ok);
    expect(header).toBeNull();
  });

  it('serialises repeatable query parameters and skips empty ones', async () => {
    let url: URL | null = null;
    server.use(
      http.get('*/api/things/', ({ request }) => {
        url = new URL(request.url);
        return HttpResponse.json({ ok: true });
      }),
    );
    await api('/api/things/', ok, { params: { status: ['failed', 'missing'], search: '', page: 2, root: undefined } });
    expect(url!.searchParams.getAll('status')).toEqual(['failed', 'missing']);
    expect(url!.searchParams.get('page')).toBe('2');
    expect(url!.searchParams.has('search')).toBe(false);
    expect(url!.searchParams.has('root')).toBe(false);
  });

  it('turns the JSON error shape into an ApiError with a readable message', async () => {
    document.cookie = 'csrftoken=tok; path=/';
    server.use(
      http.post('*/api/slide-roots/', () =>
        HttpResponse.json(
          { detail: 'Invalid input.', code: 'invalid', fields: { path: ['Folder does not exist.'] } },
          { status: 400 },
        ),
      ),
    );
    const error = await api('/api/slide-roots/', ok, { method: 'POST', body: {} }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(400);
    expect((error as ApiError).code).toBe('invalid');
    expect((error as ApiError).fields).toEqual({ path: ['Folder does not exist.'] });
    expect((error as ApiError).message).toBe('Invalid input. path: Folder does not exist.');
  });

  it('gives a readable message for a non-JSON 5xx answer', async () => {
    server.use(
      http.get('*/api/things/', () => new HttpResponse('<html><body>Bad Gateway</body></html>', { status: 502, headers: { 'Content-Type': 'text/html' } })),
    );
    const error = (await api('/api/things/', ok).catch((e: unknown) => e)) as ApiError;
    expect(error.status).toBe(502);
    expect(error.message).toMatch(/server had a problem.*502/i);
    expect(error.message).not.toMatch(/<html>/);
  });

  it('gives a readable message when the network fails', async () => {
    server.use(http.get('*/api/things/', () => HttpResponse.error()));
    const error = (await api('/api/things/', ok).catch((e: unknown) => e)) as ApiError;
    expect(error.status).toBe(0);
    expect(error.message).toBe(NETWORK_ERROR_MESSAGE);
  });

  it('rejects an answer that does not match the schema with a readable message', async () => {
    vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    server.use(http.get('*/api/things/', () => HttpResponse.json({ ok: 'yes' })));
    const error = (await api('/api/things/', ok).catch((e: unknown) => e)) as ApiError;
    expect(error.code).toBe('invalid_response');
    expect(error.message).toMatch(/does not understand/);
  });

  it('shares one CSRF request between concurrent callers', async () => {
    let calls = 0;
    server.use(
      http.get('*/api/auth/csrf/', () => {
        calls += 1;
        document.cookie = 'csrftoken=x; path=/';
        return new HttpResponse(null, { status: 204 });
      }),
    );
    await Promise.all([ensureCsrf(), ensureCsrf(), ensureCsrf()]);
    expect(calls).toBe(1);
  });
});
