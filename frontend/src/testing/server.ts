import { http, HttpResponse } from 'msw';
import { setupServer } from 'msw/node';
import {
  defaultSlides,
  facets,
  makeCategories,
  makeDzi,
  makeGroup,
  makeSemanticCategories,
  makeSlideDetail,
  makeTag,
  makeTilingConfig,
  page,
  users,
  type FixtureUser,
} from './fixtures';

/**
 * The API mocked at the network layer. Tests change `db` (who is logged in, which slides
 * exist) or add one-off handlers with `server.use(...)`; `requests` records what was asked.
 */
export const db: {
  me: FixtureUser | null;
  password: string;
  slides: Array<Record<string, unknown>>;
  categories: ReturnType<typeof makeCategories>;
  /** Tags per slide id, as the slide detail answer lists them. */
  tags: Record<number, Array<ReturnType<typeof makeTag>>>;
  groups: Array<ReturnType<typeof makeGroup>>;
  suggestions: Record<number, Array<{ term: Record<string, unknown>; reason: string }>>;
} = { me: null, password: 'secret', slides: [], categories: [], tags: {}, groups: [], suggestions: {} };

let nextTagId = 1000;

/** The server's tagging rule: a single-valued category keeps one term, the new one. */
function addTag(slideId: number, termId: number) {
  const category = db.categories.find((c) => c.terms.some((t) => t.id === termId));
  const term = category?.terms.find((t) => t.id === termId);
  if (!category || !term) return null;
  const current = (db.tags[slideId] ?? []).filter((t) => t.term !== termId && (category.multi_valued || t.category_key !== category.key));
  const tag = makeTag((nextTagId += 1), term, { created_by: db.me?.username ?? null });
  db.tags[slideId] = [...current, tag];
  return tag;
}

export const requests: URL[] = [];

export function resetDb() {
  db.me = null;
  db.password = 'secret';
  db.slides = [...defaultSlides];
  db.categories = makeCategories();
  db.tags = {};
  db.groups = [makeGroup(1, { name: 'H&E slides' }), makeGroup(2, { name: 'Hand-picked', kind: 'explicit', rule: '', slide_count: 1 })];
  db.suggestions = {};
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
  http.get('*/api/slides/:id/', ({ params }) => {
    const id = Number(params.id);
    return requireLogin() ?? HttpResponse.json(makeSlideDetail(id, { tags: db.tags[id] ?? [], review_status: db.tags[id]?.length ? 'tagged' : 'untagged' }));
  }),
  http.get('*/api/slides/:id/suggestions/', ({ params }) => requireLogin() ?? HttpResponse.json(db.suggestions[Number(params.id)] ?? [])),
  http.post('*/api/slides/:id/tags/', async ({ params, request }) => {
    const { term } = (await request.json()) as { term: number };
    const tag = addTag(Number(params.id), term);
    return tag ? HttpResponse.json(tag, { status: 201 }) : HttpResponse.json({ detail: 'Unknown term.', code: 'invalid' }, { status: 400 });
  }),
  http.delete('*/api/slides/:id/tags/:termId/', ({ params }) => {
    const id = Number(params.id);
    db.tags[id] = (db.tags[id] ?? []).filter((t) => t.term !== Number(params.termId));
    return new HttpResponse(null, { status: 204 });
  }),
  http.get('*/api/categories/', () => requireLogin() ?? HttpResponse.json(db.categories)),
  http.get('*/api/groups/summary/', () =>
    requireLogin() ??
    HttpResponse.json({
      slides: db.slides.length,
      in_no_group: 1,
      in_multiple_groups: 0,
      groups: db.groups.map(({ id, name, slide_count, weight }) => ({ id, name, slide_count, weight })),
    }),
  ),
  http.get('*/api/groups/', () => requireLogin() ?? HttpResponse.json(page(db.groups))),
  http.get('*/api/groups/:id/snapshots/', () => requireLogin() ?? HttpResponse.json(page([]))),
  http.get('*/api/tag-rules/', () => requireLogin() ?? HttpResponse.json(page([]))),
  http.get('*/api/audit/', () => requireLogin() ?? HttpResponse.json(page([]))),
  http.get('*/api/slides/:id/dzi.json', ({ params }) => requireLogin() ?? HttpResponse.json(makeDzi(Number(params.id)))),
  http.get('*/api/slide-roots/', () =>
    requireLogin() ??
    HttpResponse.json(page([{ id: 1, name: 'archive', path: '/data/archive', slide_count: 4, created_at: '2024-05-01T10:00:00Z', last_scan: null }])),
  ),
  http.get('*/api/slides/:id/thumbnail/', () => new HttpResponse(null, { status: 404 })),
  // Tiling: empty by default; the tiling tests answer with their own data.
  http.get('*/api/tiling-configs/', () => requireLogin() ?? HttpResponse.json(page([makeTilingConfig(1)]))),
  http.get('*/api/tiling-runs/', () => requireLogin() ?? HttpResponse.json(page([]))),
  http.get('*/api/slides/:id/tilings/', () => requireLogin() ?? HttpResponse.json([])),
  // Clusters: no runs by default; the cluster tests answer with their own data.
  http.get('*/api/cluster-runs/', () => requireLogin() ?? HttpResponse.json(page([]))),
  http.get('*/api/semantic-categories/', () => requireLogin() ?? HttpResponse.json(makeSemanticCategories())),
  // Datasets and tokens: none by default; their tests answer with their own data.
  http.get('*/api/datasets/', () => requireLogin() ?? HttpResponse.json(page([]))),
  http.get('*/api/tokens/', () => requireLogin() ?? HttpResponse.json([])),
];

export const server = setupServer(...handlers);
