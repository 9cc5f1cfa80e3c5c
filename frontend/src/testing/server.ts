import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import { defaultSlides, facets, makeDzi, makeSlideDetail, page, users, type FixtureUser } from './fixtures';

/**
 * The API mocked at the network layer. Tests change `db` (who is logged in, which slides
 * exist) or add one-off handlers with `server.use(...)`; `requests` records what was asked.
 */
export const db: {
  me: FixtureUser | null;
  password: string;
  slides: Array<Record<string, unknown>>;
} = { me: null, password: 'secret', slides: [] };

export const requests: URL[] = [];

export function resetDb() {
  db.me = null;
  db.password = 'secret';
  db.slides = [...defaultSlides];
  requests.length = 0;
}

function requireLogin() {
  return db.me ? null : HttpResponse.json({ detail: 'Authentication credentials were not provided.', code: 'not_authenticated' }, { status: 401 });
}

export const handlers = [
  http.all('*/api/*', ({ request }) => {
    requests.push(new URL(request.url));
    // Fall through to the specific handlers below.
    return undefined;
  }),
  http.get('*/api/auth/csrf/', () => {
    document.cookie = 'csrftoken=test-csrf-token; path=/';
    return new HttpResponse(null, { status: 204 });
  }),
  http.get('*/api/auth/me/', () => requireLogin() ?? HttpResponse.json(db.me)),
  http.post('*/api/auth/login/', async ({ request }) => {
    const body = (await request.json()) as { username: string; password: string };
    const user = Object.values(users).find((u) => u.username === body.username);
    if (!user || body.password !== db.password) {
      return HttpResponse.json({ detail: 'Invalid username or password.', code: 'invalid_credentials' }, { status: 400 });
    }
    db.me = user;
    return HttpResponse.json(user);
  }),
  http.post('*/api/auth/logout/', () => {
    db.me = null;
    return new HttpResponse(null, { status: 204 });
  }),
  http.get('*/api/slides/facets/', () => requireLogin() ?? HttpResponse.json(facets)),
  http.get('*/api/slides/', ({ request }) => {
    const denied = requireLogin();
    if (denied) return denied;
    const url = new URL(request.url);
    const search = url.searchParams.get('search')?.toLowerCase();
    const statuses = url.searchParams.getAll('status');
    let results = db.slides;
    if (search) {
      results = results.filter((s) => `${s.name} ${s.relative_path}`.toLowerCase().includes(search));
    }
    if (statuses.length) results = results.filter((s) => statuses.includes(String(s.status)));
    return HttpResponse.json(page(results));
  }),
  http.get('*/api/slides/:id/', ({ params }) => requireLogin() ?? HttpResponse.json(makeSlideDetail(Number(params.id)))),
  http.get('*/api/slides/:id/dzi.json', ({ params }) => requireLogin() ?? HttpResponse.json(makeDzi(Number(params.id)))),
  http.get('*/api/slide-roots/', () =>
    requireLogin() ??
    HttpResponse.json(page([{ id: 1, name: 'archive', path: '/data/archive', slide_count: 4, created_at: '2024-05-01T10:00:00Z', last_scan: null }])),
  ),
  http.get('*/api/slides/:id/thumbnail/', () => new HttpResponse(null, { status: 404 })),
];

export const server = setupServer(...handlers);
