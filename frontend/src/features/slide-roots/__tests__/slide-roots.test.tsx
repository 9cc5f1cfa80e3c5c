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

  it('restricts a root to chosen users', async () => {
    let sent: unknown = null;
    const root = { id: 1, name: 'archive', path: '/data/archive', slide_count: 4, created_at: null, last_scan: null };
    let current = { ...root, restricted: false, allowed_users: [] as number[] };
    server.use(
      http.get('*/api/slide-roots/', () => HttpResponse.json(page([current]))),
      http.get('*/api/users/', () =>
        HttpResponse.json(
          page([
            { id: 7, username: 'dr-a', role: 'pathologist', full_name: '', is_active: true },
            { id: 8, username: 'dr-b', role: 'viewer', full_name: '', is_active: true },
            { id: 9, username: 'boss', role: 'admin', full_name: '', is_active: true },
          ]),
        ),
      ),
      http.patch('*/api/slide-roots/1/', async ({ request }) => {
        sent = await request.json();
        current = { ...current, ...(sent as object) };
        return HttpResponse.json(current);
      }),
    );
    const { user } = renderApp('/slide-roots', { as: users.admin });
    const access = await screen.findByTestId('root-access');
    expect(within(access).queryByRole('listbox')).toBeNull();
    expect(within(access).queryByRole('button', { name: 'Save access' })).toBeNull();

    await user.click(within(access).getByLabelText('Restricted'));
    const select = within(access).getByRole('listbox', { name: 'Users allowed to see archive' });
    await waitFor(() => expect(within(select).getAllByRole('option')).toHaveLength(2)); // admins see all anyway
    await user.selectOptions(select, ['7']);
    await user.click(within(access).getByRole('button', { name: 'Save access' }));

    await waitFor(() => expect(sent).toEqual({ restricted: true, allowed_users: [7] }));
    await waitFor(() => expect(within(screen.getByTestId('root-access')).queryByRole('button', { name: 'Save access' })).toBeNull());
    expect(within(screen.getByTestId('root-access')).getByLabelText('Restricted')).toBeChecked();
  });
});
