import { http, HttpResponse } from 'msw';
import { makeCluster, makeClusterDetail, makeClusterRun, makeSemanticCategories, page } from '@/testing/fixtures';
import { server } from '@/testing/server';

type Cluster = ReturnType<typeof makeCluster>;

/**
 * A small in-memory cluster API for run 3 with `k` unreviewed clusters (ids 100 + index):
 * decisions need the current version and bump it, as the server does.
 */
export function serveRun(opts: { k?: number; run?: Record<string, unknown> } = {}) {
  const k = opts.k ?? 4;
  const state = {
    run: makeClusterRun(3, { review: { total: k, reviewed: 0, accepted: 0, rejected: 0, merged: 0, disagreements: 0 }, ...opts.run }),
    clusters: Array.from({ length: k }, (_, i) => makeCluster(100 + i, i)) as Cluster[],
    posts: [] as Array<{ id: number; body: Record<string, unknown> }>,
  };
  const categories = makeSemanticCategories();
  server.use(
    http.get('*/api/cluster-runs/3/', () => HttpResponse.json(state.run)),
    http.get('*/api/clusters/', ({ request }) => {
      const url = new URL(request.url);
      if (url.searchParams.get('run') !== '3') return HttpResponse.json(page([]));
      return HttpResponse.json(page(state.clusters));
    }),
    http.get('*/api/clusters/:id/', ({ params }) => {
      const cluster = state.clusters.find((c) => c.id === Number(params.id));
      return cluster ? HttpResponse.json(makeClusterDetail(cluster)) : HttpResponse.json({ detail: 'Not found.', code: 'not_found' }, { status: 404 });
    }),
    http.get('*/api/clusters/:id/votes/', () => HttpResponse.json([])),
    http.get('*/api/cluster-runs/3/map/', () =>
      HttpResponse.json({
        method: 'pca',
        centroids: state.clusters.map((c) => ({ cluster: c.id, index: c.index, x: c.index, y: -c.index, size: c.size, category_colour: '', status: c.status })),
        tiles: [{ cluster_index: 0, x: 0.1, y: 0.2 }],
      }),
    ),
    http.get('*/api/cluster-runs/3/disagreements/', () => HttpResponse.json([])),
    http.post('*/api/clusters/:id/review/', async ({ params, request }) => {
      const id = Number(params.id);
      const body = (await request.json()) as Record<string, unknown>;
      state.posts.push({ id, body });
      if (state.run.locked) return HttpResponse.json({ detail: 'The run is locked.', code: 'locked' }, { status: 409 });
      const i = state.clusters.findIndex((c) => c.id === id);
      const cluster = state.clusters[i];
      if (body.version !== cluster.version) {
        return HttpResponse.json({ detail: 'The cluster was changed by someone else.', code: 'stale', current: cluster }, { status: 409 });
      }
      const category = categories.find((c) => c.id === body.category);
      const updated = {
        ...cluster,
        status: body.status as string,
        category: (body.category as number | null) ?? null,
        category_name: body.status === 'accepted' ? (category?.name ?? '') : '',
        category_colour: body.status === 'accepted' ? (category?.colour ?? '') : '',
        reject_reason: (body.reject_reason as string) ?? '',
        weight: (body.weight as number | null) ?? null,
        note: (body.note as string) ?? '',
        version: cluster.version + 1,
        reviewed_by: 'paula',
      };
      state.clusters[i] = updated;
      return HttpResponse.json(updated);
    }),
  );
  return state;
}
