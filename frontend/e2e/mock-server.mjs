#!/usr/bin/env node
/**
 * A stand-in for the Django server, for trying the built frontend and the e2e script without
 * the backend: serves dist/ under /static/, index.html for other paths, and a small fake API
 * (user "demo"/"demo", three slides, a 1-pixel JPEG for every tile and thumbnail, a tiny
 * vocabulary with bulk tagging, and rule groups whose rules understand `key = term [AND …]`).
 *   npm run build && node e2e/mock-server.mjs 8123
 */
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';

const PORT = Number(process.argv[2] || process.env.PORT || 8123);
const DIST = fileURLToPath(new URL('../dist/', import.meta.url));
const JPEG = Buffer.from('/9j/4AAQSkZJRgABAQEAAQABAAD/2wBDAAMCAgICAgMCAgIDAwMDBAYEBAQEBAgGBgUGCQgKCgkICQkKDA8MCgsOCwkJDRENDg8QEBEQCgwSExIQEw8QEBD/2wBDAQMDAwQDBAgEBAgQCwkLEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBD/wAARCAAQABADASIAAhEBAxEB/8QAFgABAQEAAAAAAAAAAAAAAAAABwQF/8QAJBAAAQQBBAICAwAAAAAAAAAAAQIDBAYFBwgSExEiABQJMTL/xAAVAQEBAAAAAAAAAAAAAAAAAAAABv/EACMRAAECBQMFAAAAAAAAAAAAAAECEQMEBQYhABIxFRZhgeH/2gAMAwEAAhEDEQA/ABSm0mobc8HmExLUlRzzEWPkJWW+ulrsaUVAseUgslSlH9LKuPryIKuWPZdskzXmm3fX5m2nF4GlVxx/HOpx4ks51+MiU/Iaad7UcUo4tILoS4kqcWkezS0hO/HvuRp0rO6hWnWO1UisZVuFi4GFeyEpmGepa5S5SWVPuciFKRFLgSrwetnyPIB+Vb4N9mKhQMzo5po9XLdDs9d6ZVix2VEhiL9kuNPxw2gEKcDQ/rs8AuA8VAe0vdl7VOYn+27flGAUgmITjbhSmCg3BYlyeWDkMolvw4KOp1KM6iCNvngZHwetf//Z', 'base64');
const TYPES = { '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.html': 'text/html', '.map': 'application/json' };

const user = { id: 1, username: 'demo', full_name: 'Demo User', role: 'admin', is_active: true };
const slide = (id, name, extra = {}) => ({
  id, name, root: 1, root_name: 'archive', relative_path: `lab_a/${name}`, status: 'registered', failure_reason: '',
  vendor: 'aperio', width: 46000, height: 32914, level_count: 3, mpp_x: 0.499, mpp_y: 0.499, objective_power: 20,
  size_bytes: 177552579, thumbnail_url: `/api/slides/${id}/thumbnail/`, created_at: '2024-05-01T10:00:00Z',
  updated_at: '2024-05-01T10:00:00Z', ...extra,
});
const slides = [
  slide(1, 'CMU-1.svs'),
  slide(2, 'CMU-2.svs'),
  slide(3, 'broken.svs', { status: 'failed', failure_reason: 'unsupported format', width: null, height: null, mpp_x: null }),
];
const sessions = new Set();

// Pathologist knowledge, in memory: enough for e2e/tag-and-group.mjs.
const term = (id, category, category_key, name, synonyms = []) => ({ id, category, category_key, name, code: '', synonyms, active: true });
const categories = [
  { id: 1, key: 'stain', name: 'Stain', description: '', multi_valued: false, order: 1, terms: [term(10, 1, 'stain', 'H&E', ['HE']), term(11, 1, 'stain', 'PAS')] },
  { id: 2, key: 'tissue', name: 'Tissue', description: '', multi_valued: true, order: 2, terms: [term(20, 2, 'tissue', 'colon'), term(21, 2, 'tissue', 'liver')] },
];
const allTerms = () => categories.flatMap((c) => c.terms);
const tags = new Map(); // slide id -> tag[]
const groups = [];
let nextId = 100;
const page = (results) => ({ count: results.length, next: null, previous: null, results });

function withKnowledge(s) {
  const t = tags.get(s.id) ?? [];
  return { ...s, tags: t, review_status: t.length ? 'tagged' : 'untagged', review_reason: '' };
}

function tagSlide(slideId, termId) {
  const t = allTerms().find((x) => x.id === termId);
  const category = categories.find((c) => c.id === t.category);
  const kept = (tags.get(slideId) ?? []).filter((x) => x.term !== termId && (category.multi_valued || x.category_key !== category.key));
  const tag = { id: (nextId += 1), term: t.id, term_name: t.name, category_key: t.category_key, source: 'manual', created_by: user.username, created_at: new Date().toISOString() };
  tags.set(slideId, [...kept, tag]);
  return tag;
}

/** `key = term [AND key = term …]` only; anything else is a parse error, as the real server would say. */
function ruleMatcher(rule) {
  const clauses = rule.split(/\s+AND\s+/i);
  const tests = clauses.map((clause) => {
    const m = /^\s*([a-z_]+)\s*=\s*(?:"([^"]*)"|([^\s"]+))\s*$/i.exec(clause);
    if (!m) throw new Error(`Rule does not parse at position ${rule.indexOf(clause) + 1}: expected "category = term".`);
    const category = categories.find((c) => c.key === m[1].toLowerCase());
    if (!category) throw new Error(`Unknown category "${m[1]}".`);
    const wanted = (m[2] ?? m[3]).toLowerCase();
    const t = category.terms.find((x) => [x.name, ...x.synonyms].some((n) => n.toLowerCase() === wanted));
    if (!t) throw new Error(`Unknown term "${m[2] ?? m[3]}" in category ${category.key}.`);
    return (s) => (tags.get(s.id) ?? []).some((x) => x.term === t.id);
  });
  return (s) => tests.every((test) => test(s));
}

const groupCount = (g) => (g.kind === 'rule' ? slides.filter(ruleMatcher(g.rule)).length : g.members.length);
const groupOut = ({ members, ...g }) => ({ ...g, slide_count: groupCount({ members, ...g }) });

function send(res, status, body, headers = {}) {
  const isJson = body !== null && !Buffer.isBuffer(body) && typeof body === 'object';
  res.writeHead(status, { 'Content-Type': isJson ? 'application/json' : 'text/plain', ...headers });
  res.end(isJson ? JSON.stringify(body) : body ?? undefined);
}

function sessionOf(req) {
  const match = /sessionid=([^;]+)/.exec(req.headers.cookie || '');
  return match && sessions.has(match[1]) ? match[1] : null;
}

async function body(req) {
  let data = '';
  for await (const chunk of req) data += chunk;
  return data ? JSON.parse(data) : {};
}

async function api(req, res, url) {
  const p = url.pathname;
  if (p === '/api/auth/csrf/') return send(res, 204, null, { 'Set-Cookie': 'csrftoken=mock-csrf; Path=/' });
  if (p === '/api/auth/login/' && req.method === 'POST') {
    if (req.headers['x-csrftoken'] !== 'mock-csrf') return send(res, 403, { detail: 'CSRF token missing.', code: 'csrf' });
    const { username, password } = await body(req);
    if (username !== 'demo' || password !== 'demo') return send(res, 400, { detail: 'Invalid username or password.', code: 'invalid' });
    const sid = Math.random().toString(36).slice(2);
    sessions.add(sid);
    return send(res, 200, user, { 'Set-Cookie': `sessionid=${sid}; Path=/; HttpOnly` });
  }
  if (!sessionOf(req)) return send(res, 401, { detail: 'Authentication credentials were not provided.', code: 'not_authenticated' });
  if (p === '/api/auth/me/') return send(res, 200, user);
  if (p === '/api/auth/logout/') { sessions.delete(sessionOf(req)); return send(res, 204, null); }
  if (p === '/api/slides/facets/') return send(res, 200, { status: [{ value: 'registered', count: 2 }, { value: 'failed', count: 1 }], vendor: [{ value: 'aperio', count: 3 }] });
  if (p === '/api/slides/') {
    const q = (url.searchParams.get('search') || '').toLowerCase();
    const group = groups.find((g) => String(g.id) === url.searchParams.get('group'));
    const termIds = url.searchParams.getAll('term').map(Number);
    const results = slides
      .filter((s) => `${s.name} ${s.relative_path}`.toLowerCase().includes(q))
      .filter((s) => termIds.every((id) => (tags.get(s.id) ?? []).some((x) => x.term === id)))
      .filter((s) => !group || (group.kind === 'rule' ? ruleMatcher(group.rule)(s) : group.members.includes(s.id)))
      .map(withKnowledge);
    return send(res, 200, page(results));
  }
  if (p === '/api/categories/') return send(res, 200, categories);
  if (p === '/api/tags/bulk/' && req.method === 'POST') {
    const { slides: ids = [], add = [], remove = [] } = await body(req);
    let added = 0;
    let removed = 0;
    for (const id of ids) {
      for (const termId of add) {
        if (!(tags.get(id) ?? []).some((x) => x.term === termId)) added += 1;
        tagSlide(id, termId);
      }
      const before = (tags.get(id) ?? []).length;
      tags.set(id, (tags.get(id) ?? []).filter((x) => !remove.includes(x.term)));
      removed += before - tags.get(id).length;
    }
    return send(res, 200, { slides: ids.length, added, removed });
  }
  if (p === '/api/slides/review/' && req.method === 'POST') return send(res, 200, {});
  if (p === '/api/groups/summary/') {
    const counts = slides.map((s) => groups.filter((g) => (g.kind === 'rule' ? ruleMatcher(g.rule)(s) : g.members.includes(s.id))).length);
    return send(res, 200, { slides: slides.length, in_no_group: counts.filter((c) => c === 0).length, in_multiple_groups: counts.filter((c) => c > 1).length, groups: groups.map(groupOut) });
  }
  if (p === '/api/groups/preview/' && req.method === 'POST') {
    try {
      return send(res, 200, { slide_count: slides.filter(ruleMatcher((await body(req)).rule || '')).length });
    } catch (e) {
      return send(res, 400, { detail: e.message, code: 'invalid_rule' });
    }
  }
  if (p === '/api/groups/') {
    if (req.method === 'POST') {
      const g = await body(req);
      if (groups.some((x) => x.name === g.name)) return send(res, 400, { detail: 'Invalid input.', code: 'invalid', fields: { name: ['A group with this name already exists.'] } });
      if (g.kind === 'rule') {
        try { ruleMatcher(g.rule || ''); } catch (e) { return send(res, 400, { detail: e.message, code: 'invalid_rule' }); }
      }
      const now = new Date().toISOString();
      const group = { id: (nextId += 1), name: g.name, description: g.description || '', weight: g.weight ?? 1, kind: g.kind, rule: g.rule || '', members: [], created_at: now, updated_at: now };
      groups.push(group);
      return send(res, 201, groupOut(group));
    }
    return send(res, 200, page(groups.map(groupOut)));
  }
  if (/^\/api\/groups\/\d+\/snapshots\/$/.test(p)) return send(res, 200, page([]));
  if (p === '/api/tag-rules/' || p === '/api/audit/') return send(res, 200, page([]));
  if (p === '/api/slide-roots/') return send(res, 200, { count: 1, next: null, previous: null, results: [{ id: 1, name: 'archive', path: '/data/archive', slide_count: 3, created_at: null, last_scan: null }] });
  let m;
  if ((m = /^\/api\/slides\/(\d+)\/$/.exec(p))) {
    const s = slides.find((x) => x.id === Number(m[1]));
    if (!s) return send(res, 404, { detail: 'Not found.', code: 'not_found' });
    return send(res, 200, { ...withKnowledge(s), fingerprint: 'sha256:mock', level_dimensions: [[46000, 32914], [11500, 8228], [2875, 2057]], level_downsamples: [1, 4, 16], properties: { 'openslide.vendor': 'aperio' }, associated_images: [{ name: 'label', url: `/api/slides/${s.id}/associated/label/` }], dzi_url: `/api/slides/${s.id}/dzi.json`, last_seen_at: null });
  }
  if (/^\/api\/slides\/\d+\/suggestions\/$/.test(p)) return send(res, 200, []);
  if ((m = /^\/api\/slides\/(\d+)\/dzi\.json$/.exec(p))) {
    return send(res, 200, { Image: { xmlns: 'http://schemas.microsoft.com/deepzoom/2008', Url: `/api/slides/${m[1]}/dzi_files/`, Format: 'jpeg', Overlap: '1', TileSize: '254', Size: { Width: '46000', Height: '32914' } }, mpp: { x: 0.499, y: 0.499 } });
  }
  if (/\/dzi_files\/\d+\/\d+_\d+\.jpeg$/.test(p) || /\/(thumbnail|associated\/\w+)\/$/.test(p)) {
    return send(res, 200, JPEG, { 'Content-Type': 'image/jpeg', 'Cache-Control': 'max-age=60' });
  }
  return send(res, 404, { detail: 'Not found.', code: 'not_found' });
}

async function file(res, path) {
  try {
    const data = await readFile(path);
    send(res, 200, data, { 'Content-Type': TYPES[extname(path)] || 'application/octet-stream' });
  } catch {
    send(res, 404, 'not found');
  }
}

createServer((req, res) => {
  const url = new URL(req.url, 'http://localhost');
  if (url.pathname.startsWith('/api/')) return void api(req, res, url).catch((e) => send(res, 500, String(e)));
  if (url.pathname.startsWith('/static/')) {
    return void file(res, join(DIST, normalize(url.pathname.slice('/static/'.length)).replace(/^(\.\.[/\\])+/, '')));
  }
  return void file(res, join(DIST, 'index.html'));
}).listen(PORT, '127.0.0.1', () => console.log(`mock RudolfV on http://127.0.0.1:${PORT}`));
