import { render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { http, HttpResponse } from 'msw';
import type OpenSeadragon from 'openseadragon';
import { AppProvider } from '@/app/provider';
import { createQueryClient } from '@/lib/query-client';
import { makeClusterRun, page, users } from '@/testing/fixtures';
import { db, server } from '@/testing/server';
import { MemoryRouter } from 'react-router-dom';
import { ClusterLabelPanel } from '../components/cluster-label-panel';

// jsdom cannot run OpenSeadragon; this stand-in records what the panel asks of the viewer.
function fakeViewer() {
  return {
    canvas: document.createElement('div'),
    container: document.createElement('div'),
    world: {
      getItemCount: () => 1,
      getItemAt: () => ({ imageToViewportCoordinates: (x: number, y: number) => ({ x: x / 46000, y: y / 46000 }) }),
    },
    viewport: { pixelFromPoint: (p: { x: number; y: number }) => ({ x: p.x * 1000, y: p.y * 1000 }) },
    addHandler: vi.fn(),
    removeHandler: vi.fn(),
  };
}

function renderPanel(viewer: ReturnType<typeof fakeViewer>) {
  return render(
    <AppProvider queryClient={createQueryClient({ retry: false })}>
      <MemoryRouter>
        <ClusterLabelPanel slideId={12} viewer={viewer as unknown as OpenSeadragon.Viewer} />
      </MemoryRouter>
    </AppProvider>,
  );
}

describe('cluster label overlay panel', () => {
  beforeEach(() => {
    db.me = users.viewer;
  });

  it('offers finished runs and draws the slide’s labels with a legend', async () => {
    const asked: string[] = [];
    server.use(
      http.get('*/api/cluster-runs/', ({ request }) => {
        asked.push(new URL(request.url).searchParams.get('status') ?? '');
        return HttpResponse.json(page([makeClusterRun(3, { name: 'Colour k=4' })]));
      }),
      http.get('*/api/cluster-runs/3/slides/12/labels/', () =>
        HttpResponse.json({
          size: 512,
          x: [0, 512, 1024],
          y: [0, 0, 0],
          cluster_index: [0, 1, 0],
          clusters: { '0': { id: 100, category: 1, colour: '#d62728', status: 'accepted', merged_into: null }, '1': { id: 101, category: null, colour: null, status: 'rejected', merged_into: null } },
        }),
      ),
    );
    const viewer = fakeViewer();
    const user = userEvent.setup();
    renderPanel(viewer);
    const panel = await screen.findByRole('region', { name: 'Cluster labels' });
    expect(asked).toEqual(['succeeded']);
    expect(within(panel).getByLabelText('Cluster run')).toHaveDisplayValue('#3 Colour k=4');
    await user.click(within(panel).getByLabelText('Cluster labels'));
    const legend = await within(panel).findByTestId('cluster-legend');
    await waitFor(() => expect(within(legend).getAllByTestId('legend-entry').map((e) => e.textContent)).toEqual(['Tumour2', 'Rejected1']));
    await waitFor(() => expect(viewer.canvas.querySelector('canvas.cluster-label-overlay')).not.toBeNull());
    expect(viewer.addHandler.mock.calls.map((c) => c[0])).toEqual(expect.arrayContaining(['update-viewport', 'animation']));
    await user.click(within(panel).getByLabelText('Cluster labels'));
    expect(viewer.canvas.querySelector('canvas')).toBeNull();
  });

  it('says when the slide is not in the run', async () => {
    server.use(
      http.get('*/api/cluster-runs/', () => HttpResponse.json(page([makeClusterRun(3)]))),
      http.get('*/api/cluster-runs/3/slides/12/labels/', () => HttpResponse.json({ detail: 'Slide 12 is not part of cluster run 3.', code: 'not_found' }, { status: 404 })),
    );
    const user = userEvent.setup();
    renderPanel(fakeViewer());
    const panel = await screen.findByRole('region', { name: 'Cluster labels' });
    await user.click(within(panel).getByLabelText('Cluster labels'));
    expect(await within(panel).findByText('This slide is not in run #3.')).toBeInTheDocument();
  });

  it('stays hidden when no run has finished', async () => {
    let asked = false;
    server.use(
      http.get('*/api/cluster-runs/', () => {
        asked = true;
        return HttpResponse.json(page([]));
      }),
    );
    const { container } = renderPanel(fakeViewer());
    await waitFor(() => expect(asked).toBe(true));
    expect(container.querySelector('.cluster-label-panel')).toBeNull();
  });
});
