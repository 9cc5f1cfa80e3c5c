import { act, render, screen, within } from '@testing-library/react';
import { http, HttpResponse } from 'msw';
import type OpenSeadragon from 'openseadragon';
import { makeSlideDetail, users } from '@/testing/fixtures';
import { renderApp } from '@/testing/render-app';
import { server } from '@/testing/server';
import { ScaleBar } from '../components/scale-bar';

// jsdom cannot draw; the OpenSeadragon wrapper is replaced by a stand-in that shows its input.
vi.mock('../components/osd-viewer', () => ({
  OsdViewer: ({ dzi, mpp, focus }: { dzi: { Image: { Url: string } }; mpp: number | null; focus?: { x: number; y: number; width: number; height: number } | null }) => (
    <div data-testid="slide-viewer" data-url={dzi.Image.Url} data-mpp={String(mpp)} data-focus={focus ? [focus.x, focus.y, focus.width, focus.height].join(',') : ''} />
  ),
}));

describe('slide viewer page', () => {
  it('opens the deep-zoom viewer with the DZI descriptor and shows the metadata', async () => {
    renderApp('/slides/12', { as: users.viewer });
    const viewer = await screen.findByTestId('slide-viewer');
    expect(viewer).toHaveAttribute('data-url', '/api/slides/12/dzi_files/');
    expect(viewer).toHaveAttribute('data-mpp', '0.499');

    const panel = screen.getByRole('complementary', { name: 'Slide metadata' });
    expect(within(panel).getByText('lab_a/slide-12.svs')).toBeInTheDocument();
    expect(within(panel).getAllByText('46,000 × 32,914')).toHaveLength(2); // dimensions and level 0
    expect(within(panel).getByText('sha256:abc123')).toBeInTheDocument();
    expect(within(panel).getByText('16.00')).toBeInTheDocument();
    expect(within(panel).getByRole('button', { name: /label/ })).toBeInTheDocument();
    expect(within(panel).getByText('OpenSlide properties (3)')).toBeInTheDocument();
  });

  it('passes a place in the address (?x=&y=&size=) on to the viewer to zoom to', async () => {
    renderApp('/slides/12?x=1024&y=2048&size=512', { as: users.viewer });
    expect(await screen.findByTestId('slide-viewer')).toHaveAttribute('data-focus', '1024,2048,512,512');
  });

  it('filters the property table', async () => {
    const { user } = renderApp('/slides/12', { as: users.viewer });
    await user.click(await screen.findByText('OpenSlide properties (3)'));
    await user.type(screen.getByLabelText('Filter properties'), 'appmag');
    expect(screen.getByText('aperio.AppMag')).toBeInTheDocument();
    expect(screen.queryByText('openslide.vendor')).not.toBeInTheDocument();
  });

  it('opens an associated image large', async () => {
    const { user } = renderApp('/slides/12', { as: users.viewer });
    await user.click(await screen.findByRole('button', { name: /macro/ }));
    const dialog = screen.getByRole('dialog', { name: 'macro' });
    expect(within(dialog).getByRole('img')).toHaveAttribute('src', '/api/slides/12/associated/macro/');
  });

  it('shows the status and reason instead of the viewer for a failed slide', async () => {
    server.use(
      http.get('*/api/slides/:id/', () =>
        HttpResponse.json(makeSlideDetail(7, { status: 'failed', failure_reason: 'Truncated TIFF directory', width: null, height: null })),
      ),
    );
    renderApp('/slides/7', { as: users.viewer });
    const box = await screen.findByTestId('slide-unavailable');
    expect(box).toHaveTextContent('failed');
    expect(box).toHaveTextContent('Truncated TIFF directory');
    expect(screen.queryByTestId('slide-viewer')).not.toBeInTheDocument();
  });

  it('shows a readable message when the slide does not exist', async () => {
    server.use(http.get('*/api/slides/:id/', () => HttpResponse.json({ detail: 'Not found.', code: 'not_found' }, { status: 404 })));
    renderApp('/slides/999', { as: users.viewer });
    expect(await screen.findByTestId('error-message')).toHaveTextContent('Not found.');
  });
});

describe('ScaleBar', () => {
  function fakeViewer(imageZoom: number) {
    const handlers: Array<() => void> = [];
    const viewer = {
      world: { getItemCount: () => 1 },
      viewport: { getZoom: () => 1, viewportToImageZoom: () => viewer.imageZoom },
      imageZoom,
      addHandler: (_: string, fn: () => void) => handlers.push(fn),
      removeHandler: () => undefined,
      fire: () => handlers.forEach((fn) => fn()),
    };
    return viewer;
  }

  it('labels the bar from mpp and the current zoom, and follows zoom changes', () => {
    const viewer = fakeViewer(1);
    render(<ScaleBar viewer={viewer as unknown as OpenSeadragon.Viewer} mpp={0.5} maxWidthPx={160} />);
    expect(screen.getByTestId('scale-bar')).toHaveTextContent('50 µm');

    viewer.imageZoom = 0.02; // zoomed far out: 25 µm per screen pixel
    act(() => viewer.fire());
    expect(screen.getByTestId('scale-bar')).toHaveTextContent('2 mm');
  });

  it('says so when mpp is unknown', () => {
    render(<ScaleBar viewer={null} mpp={null} />);
    expect(screen.getByTestId('scale-bar')).toHaveTextContent('no scale (mpp unknown)');
  });
});
