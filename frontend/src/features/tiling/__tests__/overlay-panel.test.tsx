import { render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { http, HttpResponse } from 'msw';
import type OpenSeadragon from 'openseadragon';
import { AppProvider } from '@/app/provider';
import { createQueryClient } from '@/lib/query-client';
import { makeSlideTiling } from '@/testing/fixtures';
import { server } from '@/testing/server';
import { TilingOverlayPanel } from '../components/tiling-overlay-panel';

// jsdom cannot run OpenSeadragon; this stand-in records what the panel asks of the viewer.
function fakeViewer() {
  const bounds = { x: 0, y: 0, width: 1, height: 0.7 };
  const viewer = {
    canvas: document.createElement('div'),
    container: document.createElement('div'),
    world: {
      getItemCount: () => 1,
      getItemAt: () => ({ getBounds: () => bounds, imageToViewportCoordinates: (x: number, y: number) => ({ x: x / 46000, y: y / 46000 }) }),
    },
    viewport: { pixelFromPoint: (p: { x: number; y: number }) => ({ x: p.x * 1000, y: p.y * 1000 }) },
    addOverlay: vi.fn(),
    removeOverlay: vi.fn(),
    addHandler: vi.fn(),
    removeHandler: vi.fn(),
    addOnceHandler: vi.fn(),
    bounds,
  };
  return viewer;
}

function renderPanel(viewer: ReturnType<typeof fakeViewer>) {
  return render(
    <AppProvider queryClient={createQueryClient({ retry: false })}>
      <TilingOverlayPanel slideId={1} viewer={viewer as unknown as OpenSeadragon.Viewer} />
    </AppProvider>,
  );
}

const tilings = [
  makeSlideTiling(11, { config: 1, config_name: '256px @ 0.5', tile_count: 1234, tissue_area_mm2: 42.25 }),
  makeSlideTiling(12, { config: 2, config_name: '512px @ 1.0', status: 'failed', error: 'OpenSlide read error at level 0', tile_count: 0, mask_url: null }),
];

describe('tiling overlay panel', () => {
  beforeEach(() => {
    server.use(
      http.get('*/api/slides/1/tilings/', () => HttpResponse.json(tilings)),
      http.get('*/api/slide-tilings/11/grid/', () => HttpResponse.json({ size: 512, mpp: 0.25, x: [0, 512, 40000], y: [0, 0, 30000], tissue_fraction: [1, 0.8, 0.6] })),
    );
  });

  it('lists the tilings, shows facts and toggles the mask and grid overlays', async () => {
    const viewer = fakeViewer();
    const user = userEvent.setup();
    renderPanel(viewer);
    const panel = await screen.findByRole('region', { name: 'Tiling overlays' });
    const select = within(panel).getByLabelText('Tiling');
    expect(within(select).getAllByRole('option').map((o) => o.textContent)).toEqual(['256px @ 0.5', '512px @ 1.0']);
    expect(within(panel).getByTestId('tiling-facts')).toHaveTextContent('done1,234 tiles42.25 mm² tissue');

    await user.click(within(panel).getByLabelText('Tissue mask'));
    expect(viewer.addOverlay).toHaveBeenCalledTimes(1);
    const { element, location } = viewer.addOverlay.mock.calls[0][0] as { element: HTMLImageElement; location: unknown };
    expect(element.tagName).toBe('IMG');
    expect(element).toHaveAttribute('src', '/api/slide-tilings/11/mask.png');
    expect(location).toBe(viewer.bounds);
    await user.click(within(panel).getByLabelText('Tissue mask'));
    expect(viewer.removeOverlay).toHaveBeenCalledWith(element);

    await user.click(within(panel).getByLabelText('Tile grid'));
    await waitFor(() => expect(viewer.canvas.querySelector('canvas.tiling-grid-overlay')).not.toBeNull());
    const events = viewer.addHandler.mock.calls.map((c) => c[0]);
    expect(events).toEqual(expect.arrayContaining(['update-viewport', 'animation']));
    await user.click(within(panel).getByLabelText('Tile grid'));
    expect(viewer.canvas.querySelector('canvas')).toBeNull();
    expect(viewer.removeHandler.mock.calls.map((c) => c[0])).toEqual(expect.arrayContaining(['update-viewport', 'animation']));
  });

  it('shows a failed tiling with its error and no overlays to toggle', async () => {
    const viewer = fakeViewer();
    const user = userEvent.setup();
    renderPanel(viewer);
    const panel = await screen.findByRole('region', { name: 'Tiling overlays' });
    await user.selectOptions(within(panel).getByLabelText('Tiling'), '512px @ 1.0');
    expect(panel).toHaveTextContent('failed');
    expect(panel).toHaveTextContent('OpenSlide read error at level 0');
    expect(within(panel).getByLabelText('Tissue mask')).toBeDisabled();
    expect(within(panel).getByLabelText('Tile grid')).toBeDisabled();
  });

  it('stays hidden when the slide has no tilings', async () => {
    let asked = false;
    server.use(
      http.get('*/api/slides/1/tilings/', () => {
        asked = true;
        return HttpResponse.json([]);
      }),
    );
    const { container } = renderPanel(fakeViewer());
    await waitFor(() => expect(asked).toBe(true));
    expect(container.querySelector('.tiling-panel')).toBeNull();
  });
});
