import { screen, waitFor, within } from '@testing-library/react';
import { http, HttpResponse } from 'msw';
import { page, users } from '@/testing/fixtures';
import { renderApp } from '@/testing/render-app';
import { server } from '@/testing/server';

const baseScan = {
  id: 5, root: 1, status: 'queued', total: 0, processed: 0, registered: 0, unchanged: 0, moved: 0, failed: 0, missing: 0,
  message: '', created_at: '2024-05-01T10:00:00Z', started_at: null, finished_at: null,
};

describe('slide roots (admin)', () => {
  it('shows the server message when adding a root fails', async () => {
    server.use(
      http.post('*/api/slide-roots/', () =>
        HttpResponse.json(
          { detail: 'The path must be a folder inside SLIDE_ROOTS.', code: 'invalid', fields: { path: ['Not allowed.'] } },
          { status: 400 },
        ),
      ),
    );
    const { user } = renderApp('/slide-roots', { as: users.admin });
    const form = await screen.findByRole('form', { name: 'Add slide root' });
    await user.type(within(form).getByLabelText('Name'), 'x');
    await user.type(within(form).getByLabelText(/Folder path/), '/etc');
    await user.click(within(form).getByRole('button', { name: 'Add root' }));
    expect(await within(form).findByRole('alert')).toHaveTextContent('The path must be a folder inside SLIDE_ROOTS. path: Not allowed.');
  });

  it('starts a scan and polls its progress until it finishes', async () => {
    let polls = 0;
    server.use(
      http.post('*/api/slide-roots/1/scan/', () => HttpResponse.json(baseScan, { status: 202 })),
      http.get('*/api/scans/5/', () => {
        polls += 1;
        if (polls === 1) return HttpResponse.json({ ...baseScan, status: 'running', total: 4, processed: 2, registered: 1, failed: 1 });
        return HttpResponse.json({ ...baseScan, status: 'succeeded', total: 4, processed: 4, registered: 3, failed: 1, finished_at: '2024-05-01T10:01:00Z' });
      }),
      http.get('*/api/slide-roots/', () =>
        HttpResponse.json(page([{ id: 1, name: 'archive', path: '/data/archive', slide_count: 4, created_at: null, last_scan: null }])),
      ),
    );
    const { user } = renderApp('/slide-roots', { as: users.admin });
    const row = (await screen.findAllByTestId('root-row'))[0];
    expect(row).toHaveTextContent('Never scanned');
    await user.click(within(row).getByRole('button', { name: 'Scan' }));

    await waitFor(() => expect(within(row).getByTestId('scan-5')).toHaveTextContent('running'), { timeout: 4000 });
    expect(within(row).getByTestId('scan-5')).toHaveTextContent('2/4 (50%)');
    await waitFor(() => expect(within(row).getByTestId('scan-5')).toHaveTextContent('succeeded'), { timeout: 4000 });
    expect(within(row).getByTestId('scan-5')).toHaveTextContent('registered 3');
    const settled = polls;
    await new Promise((r) => setTimeout(r, 1800));
    expect(polls).toBe(settled);
  }, 12_000);
});
