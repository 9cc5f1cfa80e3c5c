import { screen, waitFor, within } from '@testing-library/react';
import { http, HttpResponse } from 'msw';
import { makeDataset, page, users } from '@/testing/fixtures';
import { renderApp } from '@/testing/render-app';
import { server } from '@/testing/server';

const stats = {
  rows: 1000,
  train: 900,
  validation: 100,
  slides: 12,
  cells: [
    { group: 'H&E slides', category: 'Tumour', target: 600, achieved: 600 },
    { group: 'H&E slides', category: 'Stroma', target: 400, achieved: 350 },
    { group: 'Hand-picked', category: 'Tumour', target: null, achieved: 10 },
  ],
  by_lab: [
    { key: 'lab_a', count: 700 },
    { key: 'lab_b', count: 300 },
  ],
  by_scanner: [{ key: 'aperio', count: 1000 }],
  by_stain: [],
  tiles_per_slide: { min: 20, median: 80, max: 200, histogram: [{ from: 0, to: 100, count: 8 }, { from: 100, to: 200, count: 4 }] },
  shortfall: 50,
  notes: ['Stroma: 50 tiles short.'],
};

function useVersions() {
  const built = makeDataset(5, {
    status: 'built',
    parent: 4,
    shortfall: 50,
    recipe: { ...makeDataset(5).recipe, include_unreviewed: true },
    inputs: {
      cluster_run: 3,
      clusters: [{ index: 0, status: 'accepted' }, { index: 1, status: 'accepted' }, { index: 2, status: 'rejected' }],
      groups: [{ group: 1, name: 'H&E slides', weight: 2, slide_count: 12, digest: 'abc' }],
      category_weights: { Stroma: 1, Tumour: 1 },
    },
  });
  const older = makeDataset(4, { status: 'built', name: 'colon H&E v1' });
  const draft = makeDataset(6, { status: 'draft' });
  const diffs: string[] = [];
  const clones: number[] = [];
  server.use(
    http.get('*/api/datasets/', () => HttpResponse.json(page([older, built, draft]))),
    http.get('*/api/datasets/:id/', ({ params }) => HttpResponse.json([older, built, draft].find((d) => d.id === Number(params.id)))),
    http.get('*/api/datasets/:id/stats/', () => HttpResponse.json(stats)),
    http.get('*/api/datasets/:id/exports/', () => HttpResponse.json([])),
    http.get('*/api/datasets/:id/diff/', ({ request }) => {
      diffs.push(new URL(request.url).searchParams.get('other') ?? '');
      return HttpResponse.json({
        tiles_added: 1200,
        tiles_removed: 800,
        tiles_kept: 98800,
        slides_added: [12],
        slides_removed: [],
        cells: [{ group: 'H&E slides', category: 'Tumour', a: 600, b: 450 }],
      });
    }),
    http.post('*/api/datasets/:id/clone/', ({ params }) => {
      clones.push(Number(params.id));
      return HttpResponse.json(makeDataset(9, { parent: Number(params.id), name: 'colon H&E v5 (copy)' }), { status: 201 });
    }),
    http.post('*/api/datasets/:id/preview/', () => HttpResponse.json({ estimated_total: 0, eligible_total: 0, shortfall: 0, unreviewed_clusters: 0, cells: [], notes: [] })),
  );
  return { diffs, clones };
}

describe('built dataset version', () => {
  it('shows the composition against its targets, the recipe, and a diff with another version', async () => {
    const { diffs } = useVersions();
    const { user } = renderApp('/datasets/5', { as: users.viewer });
    const composition = await screen.findByRole('region', { name: 'Composition' });
    expect(within(composition).getByTestId('stats-totals')).toHaveTextContent('1,000 tiles900 train100 validation12 slides50 short');
    const cells = within(composition).getAllByTestId('matrix-cell');
    const stroma = cells.find((c) => c.dataset.category === 'Stroma') as HTMLElement;
    expect(stroma).toHaveClass('is-short');
    expect(stroma).toHaveTextContent('350of 400 target');
    expect(cells.find((c) => c.dataset.category === 'Tumour')).not.toHaveClass('is-short');
    // A cell without a target shows what it got, and nothing to compare with.
    const untargeted = cells.find((c) => c.dataset.group === 'Hand-picked') as HTMLElement;
    expect(untargeted).toHaveTextContent(/^10$/);
    expect(within(composition).getByRole('region', { name: 'By lab' })).toHaveTextContent('lab_a700lab_b300');
    expect(within(composition).getByRole('region', { name: 'By stain' })).toHaveTextContent('Nothing recorded.');
    expect(within(composition).getByTestId('tiles-per-slide')).toHaveTextContent('min 20 · median 80 · max 200');
    expect(within(composition).getAllByRole('img', { name: 'Histogram of tiles per slide' })).toHaveLength(1);

    expect(screen.getByTestId('row-count')).toHaveTextContent('1,000');
    expect(screen.getByTestId('full-checksum')).toHaveTextContent(/^ab12cd34ef56/);
    expect(screen.getByRole('link', { name: '#4' })).toHaveAttribute('href', '/datasets/4');
    const recipe = screen.getByTestId('recipe-summary');
    await waitFor(() => expect(recipe).toHaveTextContent('H&E slides × 2'));
    expect(recipe).toHaveTextContent('Tumour × 1');
    expect(recipe).toHaveTextContent('included (as “unreviewed”)');
    const inputs = screen.getByTestId('inputs-summary');
    expect(inputs).toHaveTextContent('H&E slides: 12 slides × 2');
    expect(inputs).toHaveTextContent('3 (2 accepted, 1 rejected)');
    // Viewers read; they do not clone or export.
    expect(screen.queryByRole('button', { name: 'Clone as new draft' })).not.toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'WebDataset shards' })).not.toBeInTheDocument();
    expect(screen.getByRole('link', { name: 'manifest.parquet' })).toHaveAttribute('href', '/api/datasets/5/manifest.parquet');

    const compare = screen.getByRole('region', { name: 'Compare' });
    const select = within(compare).getByLabelText('Other version');
    // Only other built versions are offered.
    await waitFor(() => expect(within(select).getAllByRole('option').map((o) => o.textContent)).toEqual(['Choose a built version…', '#4 colon H&E v1']));
    await user.selectOptions(select, '4');
    const diff = await within(compare).findByTestId('diff');
    expect(diffs).toEqual(['4']);
    expect(diff).toHaveTextContent('+1,200 tiles added');
    expect(diff).toHaveTextContent('−800 tiles removed');
    expect(diff).toHaveTextContent('98,800 kept');
    expect(within(diff).getByTestId('slides-added')).toHaveTextContent('#12');
    expect(within(diff).getByTestId('slides-removed')).toHaveTextContent('none');
    expect(within(diff).getByTestId('diff-cell')).toHaveTextContent('H&E slidesTumour600450−150');
  });

  it('clones a built version into a new draft and opens it', async () => {
    const { clones } = useVersions();
    server.use(http.get('*/api/datasets/9/', () => HttpResponse.json(makeDataset(9, { parent: 5, name: 'colon H&E v5 (copy)' }))));
    const { user, location } = renderApp('/datasets/5', { as: users.pathologist });
    await user.click(await screen.findByRole('button', { name: 'Clone as new draft' }));
    await waitFor(() => expect(location().pathname).toBe('/datasets/9'));
    expect(clones).toEqual([5]);
    expect(await screen.findByRole('form', { name: 'Recipe' })).toBeInTheDocument();
    expect(screen.getByText(/cloned from/)).toHaveTextContent('cloned from #5');
  });

  it('runs a WebDataset export: progress while it runs, then the shards and the missing slides', async () => {
    useVersions();
    let polls = 0;
    const posted: unknown[] = [];
    const job = { id: 7, dataset: 5, kind: 'webdataset', shard_size: 500, created_at: '2024-07-01T10:00:00Z', finished_at: null, shards: [], report: null };
    server.use(
      http.post('*/api/datasets/:id/exports/', async ({ request }) => {
        posted.push(await request.json());
        return HttpResponse.json({ ...job, status: 'queued', progress_done: 0, progress_total: 0 }, { status: 202 });
      }),
      http.get('*/api/exports/7/', () => {
        polls += 1;
        if (polls === 1) return HttpResponse.json({ ...job, status: 'running', progress_done: 300, progress_total: 1000 });
        return HttpResponse.json({
          ...job,
          status: 'succeeded',
          progress_done: 1000,
          progress_total: 1000,
          finished_at: '2024-07-01T10:05:00Z',
          shards: [
            { name: 'shard-000000.tar', size: 2_500_000, url: '/api/exports/7/shards/shard-000000.tar' },
            { name: 'shard-000001.tar', size: 1_200_000, url: '/api/exports/7/shards/shard-000001.tar' },
          ],
          report: { missing_slides: [{ slide: 13, reason: 'file not found' }], tiles_written: 950, tiles_skipped: 50 },
        });
      }),
    );
    const { user } = renderApp('/datasets/5', { as: users.pathologist });
    const panel = await screen.findByRole('region', { name: 'Export' });
    await user.clear(within(panel).getByLabelText('Tiles per shard'));
    await user.type(within(panel).getByLabelText('Tiles per shard'), '500');
    await user.click(within(panel).getByRole('button', { name: 'WebDataset shards' }));
    expect(await within(panel).findByTestId('export-progress')).toHaveTextContent('300/1,000 tiles (30%)');
    expect(within(panel).getByRole('button', { name: 'WebDataset shards' })).toBeDisabled();
    expect(posted).toEqual([{ kind: 'webdataset', shard_size: 500 }]);

    const rows = await within(panel).findAllByTestId('shard-row', {}, { timeout: 4000 });
    expect(rows.map((r) => within(r).getByRole('link').getAttribute('href'))).toEqual(['/api/exports/7/shards/shard-000000.tar', '/api/exports/7/shards/shard-000001.tar']);
    expect(rows[0]).toHaveTextContent('2.4 MB');
    expect(within(panel).getByTestId('missing-slides')).toHaveTextContent('slide #13: file not found');
    expect(within(panel).getByTestId('export-job')).toHaveTextContent('950 tiles written, 50 skipped');
    expect(within(panel).getByRole('button', { name: 'WebDataset shards' })).toBeEnabled();
  }, 10_000);
});

describe('datasets page', () => {
  it('lists versions, polls while one builds, and starts a draft from a finished run', async () => {
    let polls = 0;
    const created: Array<Record<string, unknown>> = [];
    server.use(
      http.get('*/api/datasets/', () => {
        polls += 1;
        return HttpResponse.json(
          page([
            makeDataset(5, { status: 'built', parent: 4 }),
            polls < 2 ? makeDataset(6, { status: 'building', progress_done: 2, progress_total: 8, message: 'drawing tiles' }) : makeDataset(6, { status: 'built', row_count: 2000 }),
          ]),
        );
      }),
      http.get('*/api/cluster-runs/', ({ request }) => {
        expect(new URL(request.url).searchParams.get('status')).toBe('succeeded');
        return HttpResponse.json(page([]));
      }),
      http.post('*/api/datasets/', async ({ request }) => {
        created.push((await request.json()) as Record<string, unknown>);
        return HttpResponse.json({ detail: 'Cluster run 3 has not succeeded (it is running).', code: 'run_not_ready' }, { status: 400 });
      }),
    );
    const { user } = renderApp('/datasets', { as: users.pathologist });
    const rows = await screen.findAllByTestId('dataset-row');
    expect(rows.map((r) => within(r).getAllByRole('link')[0].textContent)).toEqual(['#6 colon H&E v6', '#5 colon H&E v5']);
    expect(rows[0]).toHaveTextContent('building2/8 (25%)drawing tiles');
    expect(within(rows[1]).getByTestId('checksum')).toHaveTextContent(/^ab12cd34ef56$/);
    expect(within(rows[1]).getByRole('link', { name: '#4' })).toHaveAttribute('href', '/datasets/4');
    await waitFor(() => expect(screen.getAllByTestId('dataset-row')[0]).toHaveTextContent('2,000'), { timeout: 4000 });

    await user.click(screen.getByRole('button', { name: 'New version' }));
    const form = screen.getByRole('form', { name: 'New version' });
    expect(await within(form).findByText(/No finished cluster run yet/)).toBeInTheDocument();
  }, 10_000);

  it('hides New version from viewers', async () => {
    renderApp('/datasets', { as: users.viewer });
    expect(await screen.findByText('No dataset versions yet.')).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'New version' })).not.toBeInTheDocument();
  });
});
