import { screen, waitFor, within } from '@testing-library/react';
import { http, HttpResponse } from 'msw';
import { makeSlide, page, users } from '@/testing/fixtures';
import { renderApp } from '@/testing/render-app';
import { requests, server } from '@/testing/server';

function lastSlideListRequest(): URL {
  const list = requests.filter((u) => u.pathname === '/api/slides/');
  return list[list.length - 1];
}

describe('slide browser', () => {
  it('renders the listed slides as cards with links to the viewer', async () => {
    renderApp('/slides', { as: users.viewer });
    const items = await screen.findAllByTestId('slide-item');
    expect(items).toHaveLength(4);
    expect(within(items[0]).getByRole('link', { name: /CMU-1\.svs/ })).toHaveAttribute('href', '/slides/1');
    expect(screen.getByTestId('slide-count')).toHaveTextContent('4 slides');
  });

  it('shows the failure reason of a failed slide', async () => {
    renderApp('/slides', { as: users.viewer });
    const failed = (await screen.findAllByTestId('slide-item')).find((el) => el.textContent?.includes('broken.svs'))!;
    expect(within(failed).getByTestId('failure-reason')).toHaveTextContent('unsupported format');
  });

  it('puts filters in the URL and in the request query', async () => {
    const { user, searchParams } = renderApp('/slides', { as: users.viewer });
    await screen.findAllByTestId('slide-item');

    await user.click(await screen.findByRole('checkbox', { name: /failed/ }));
    await waitFor(() => expect(searchParams().getAll('status')).toEqual(['failed']));
    await waitFor(() => expect(lastSlideListRequest().searchParams.getAll('status')).toEqual(['failed']));
    expect(await screen.findAllByTestId('slide-item')).toHaveLength(1);

    await user.click(screen.getByRole('checkbox', { name: /generic-tiff/ }));
    await user.selectOptions(screen.getByLabelText('Sort by'), '-size_bytes');
    await waitFor(() => {
      expect(searchParams().getAll('vendor')).toEqual(['generic-tiff']);
      expect(searchParams().get('ordering')).toBe('-size_bytes');
    });
    await waitFor(() => {
      const q = lastSlideListRequest().searchParams;
      expect(q.getAll('vendor')).toEqual(['generic-tiff']);
      expect(q.get('ordering')).toBe('-size_bytes');
      expect(q.get('page_size')).toBe('50');
    });
  });

  it('debounces the text search into the URL and the request', async () => {
    const { user, searchParams } = renderApp('/slides', { as: users.viewer });
    await screen.findAllByTestId('slide-item');
    await user.type(screen.getByTestId('slide-search'), 'cmu-2');
    await waitFor(() => expect(searchParams().get('search')).toBe('cmu-2'));
    await waitFor(() => expect(screen.getAllByTestId('slide-item')).toHaveLength(1));
    expect(lastSlideListRequest().searchParams.get('search')).toBe('cmu-2');
    // One request for the settled text, not one per keystroke.
    expect(requests.filter((u) => u.pathname === '/api/slides/' && u.searchParams.has('search'))).toHaveLength(1);
  });

  it('reads filters, mpp range and page from a shared link', async () => {
    renderApp('/slides?mpp_min=0.2&mpp_max=0.6&root=1&page=2&page_size=25&search=lab', { as: users.viewer });
    await waitFor(() => expect(lastSlideListRequest()).toBeDefined());
    const q = lastSlideListRequest().searchParams;
    expect(q.get('mpp_min')).toBe('0.2');
    expect(q.get('mpp_max')).toBe('0.6');
    expect(q.get('root')).toBe('1');
    expect(q.get('page')).toBe('2');
    expect(q.get('page_size')).toBe('25');
    expect(screen.getByTestId('slide-search')).toHaveValue('lab');
    expect(screen.getByLabelText('Minimum mpp')).toHaveValue(0.2);
  });

  it('goes back to page 1 when a filter changes, and pages forward', async () => {
    server.use(
      http.get('*/api/slides/', () => HttpResponse.json(page(Array.from({ length: 50 }, (_, i) => makeSlide(i + 1)), 120))),
    );
    const { user, searchParams } = renderApp('/slides', { as: users.viewer });
    await screen.findAllByTestId('slide-item');
    await user.click(screen.getByRole('button', { name: /Next/ }));
    await waitFor(() => expect(searchParams().get('page')).toBe('2'));
    await user.click(screen.getByRole('checkbox', { name: /registered/ }));
    await waitFor(() => expect(searchParams().get('status')).toBe('registered'));
    expect(searchParams().has('page')).toBe(false);
  });

  it('toggles between grid and table and remembers the view in the URL', async () => {
    const { user, searchParams } = renderApp('/slides', { as: users.viewer });
    await screen.findAllByTestId('slide-item');
    expect(screen.getByRole('list', { name: 'Slides' })).toBeInTheDocument();

    await user.click(screen.getByRole('button', { name: 'Table' }));
    await waitFor(() => expect(searchParams().get('view')).toBe('table'));
    const table = screen.getByRole('table', { name: 'Slides' });
    expect(within(table).getAllByTestId('slide-item')).toHaveLength(4);
    expect(within(table).getByText('lab_a/slide-1.svs')).toBeInTheDocument();

    await user.click(screen.getByRole('button', { name: 'Grid' }));
    await waitFor(() => expect(searchParams().has('view')).toBe(false));
    expect(screen.queryByRole('table', { name: 'Slides' })).not.toBeInTheDocument();
  });

  it('counts selected slides, selects all on the page and clears', async () => {
    const { user } = renderApp('/slides?view=table', { as: users.viewer });
    await screen.findAllByTestId('slide-item');
    const count = screen.getByTestId('selection-count');
    expect(count).toHaveTextContent('0 selected');

    await user.click(screen.getByRole('checkbox', { name: 'Select CMU-1.svs' }));
    await user.click(screen.getByRole('checkbox', { name: 'Select CMU-2.svs' }));
    expect(count).toHaveTextContent('2 selected');

    await user.click(screen.getByRole('checkbox', { name: 'Select all on page' }));
    expect(count).toHaveTextContent('4 selected');

    await user.click(screen.getByRole('button', { name: 'Clear' }));
    expect(count).toHaveTextContent('0 selected');
  });

  it('shows a readable message when the list answers 500', async () => {
    server.use(
      http.get('*/api/slides/', () => new HttpResponse('<h1>Server Error (500)</h1>', { status: 500, headers: { 'Content-Type': 'text/html' } })),
    );
    renderApp('/slides', { as: users.viewer });
    const alert = await screen.findByTestId('error-message');
    expect(alert).toHaveTextContent('The server had a problem answering (HTTP 500)');
    expect(alert.innerHTML).not.toMatch(/<h1>|at \w+ \(/);
  });

  it('shows a readable message on a network failure', async () => {
    server.use(http.get('*/api/slides/', () => HttpResponse.error()));
    renderApp('/slides', { as: users.viewer });
    expect(await screen.findByTestId('error-message')).toHaveTextContent('Could not reach the server');
  });

  it('shows the server detail for a JSON error', async () => {
    server.use(
      http.get('*/api/slides/', () => HttpResponse.json({ detail: 'mpp_min must be a number.', code: 'invalid' }, { status: 400 })),
    );
    renderApp('/slides?mpp_min=abc', { as: users.viewer });
    expect(await screen.findByTestId('error-message')).toHaveTextContent('mpp_min must be a number.');
  });
});
