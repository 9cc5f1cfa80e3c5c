import { screen, waitFor, within } from '@testing-library/react';
import { http, HttpResponse } from 'msw';
import { makeSlideTiling, makeTilingRun, page, users } from '@/testing/fixtures';
import { renderApp } from '@/testing/render-app';
import { server } from '@/testing/server';

// `server.use` handlers answer before the shared request recorder, so these keep their own log.
const asked: URL[] = [];

const tilings = [
  makeSlideTiling(1, { slide: 1, slide_name: 'CMU-1.svs', status: 'done', tile_count: 400, tissue_area_mm2: 12.5, seconds: 31.2 }),
  makeSlideTiling(2, {
    slide: 2,
    slide_name: 'CMU-2.svs',
    status: 'running',
    tile_count: 0,
    tiles_done: 50,
    tiles_total: 200,
    tissue_area_mm2: null,
    seconds: null,
    mask_url: null,
  }),
  makeSlideTiling(3, {
    slide: 3,
    slide_name: 'liver.tiff',
    status: 'failed',
    error: 'The slide has no µm/px; set an mpp override.',
    tile_count: 0,
    mask_url: null,
  }),
];

function useRunHandlers(run = makeTilingRun(5, { status: 'running', total: 3, done: 1, failed: 1, skipped: 0, tile_count: 400 })) {
  asked.length = 0;
  server.use(
    http.get('*/api/tiling-runs/5/', () => HttpResponse.json(run)),
    http.get('*/api/tiling-runs/5/slides/', ({ request }) => {
      asked.push(new URL(request.url));
      const status = new URL(request.url).searchParams.get('status');
      return HttpResponse.json(page(status ? tilings.filter((t) => t.status === status) : tilings));
    }),
    http.get('*/api/tiling-runs/5/gallery/', ({ request }) => {
      asked.push(new URL(request.url));
      return HttpResponse.json([
        { slide: 1, tiling: 1, index: 0, x: 1024, y: 2048, url: '/api/slide-tilings/1/tiles/0.jpg' },
        { slide: 1, tiling: 1, index: 7, x: 2048, y: 2048, url: '/api/slide-tilings/1/tiles/7.jpg' },
      ]);
    }),
  );
}

describe('tiling run detail', () => {
  it('shows counts, per-slide progress, the failed slide error and the gallery', async () => {
    useRunHandlers();
    renderApp('/tiling/runs/5', { as: users.viewer });
    const summary = await screen.findByTestId('run-summary');
    expect(summary).toHaveTextContent('running');
    expect(within(summary).getByTestId('run-progress-5')).toHaveTextContent('2/3 (67%)');
    expect(within(summary).getByTestId('run-tile-count')).toHaveTextContent('400');

    const rows = await screen.findAllByTestId('run-slide-row');
    expect(rows).toHaveLength(3);
    expect(within(rows[0]).getByRole('link', { name: 'CMU-1.svs' })).toHaveAttribute('href', '/slides/1');
    expect(rows[0]).toHaveTextContent('12.50');
    expect(rows[0]).toHaveTextContent('31.2');
    expect(within(rows[1]).getByRole('progressbar', { name: 'Tiles progress' })).toHaveAttribute('value', '50');
    expect(rows[1]).toHaveTextContent('50/200 (25%)');
    expect(rows[2]).toHaveTextContent('failed');
    expect(rows[2]).toHaveTextContent('The slide has no µm/px; set an mpp override.');

    const gallery = screen.getByRole('region', { name: 'Gallery' });
    const images = await within(gallery).findAllByRole('img');
    expect(images).toHaveLength(2);
    expect(images[0]).toHaveAttribute('src', '/api/slide-tilings/1/tiles/0.jpg');
    expect(images[0].closest('a')).toHaveAttribute('href', '/slides/1');
    expect(asked.some((u) => u.pathname === '/api/tiling-runs/5/gallery/' && u.searchParams.get('n') === '24')).toBe(true);
  });

  it('filters the slides by status', async () => {
    useRunHandlers(makeTilingRun(5, { status: 'partial' }));
    const { user } = renderApp('/tiling/runs/5', { as: users.viewer });
    expect(await screen.findAllByTestId('run-slide-row')).toHaveLength(3);
    await user.selectOptions(screen.getByLabelText('Filter by status'), 'failed');
    await waitFor(() => expect(screen.getAllByTestId('run-slide-row')).toHaveLength(1));
    expect(screen.getByTestId('run-slide-row')).toHaveTextContent('liver.tiff');
    expect(asked.some((u) => u.pathname === '/api/tiling-runs/5/slides/' && u.searchParams.get('status') === 'failed')).toBe(true);
  });

  it('polls the run while it is running', async () => {
    let polls = 0;
    useRunHandlers();
    server.use(
      http.get('*/api/tiling-runs/5/', () => {
        polls += 1;
        return HttpResponse.json(
          polls === 1
            ? makeTilingRun(5, { status: 'running', total: 3, done: 0, failed: 0 })
            : makeTilingRun(5, { status: 'succeeded', total: 3, done: 3, failed: 0 }),
        );
      }),
    );
    renderApp('/tiling/runs/5', { as: users.viewer });
    expect(await screen.findByTestId('run-progress-5')).toHaveTextContent('0/3 (0%)');
    await waitFor(() => expect(screen.getByTestId('run-progress-5')).toHaveTextContent('3/3 (100%)'), { timeout: 4000 });
    expect(screen.getByTestId('run-summary')).toHaveTextContent('succeeded');
  }, 10_000);
});
