import { screen, waitFor, within } from '@testing-library/react';
import { http, HttpResponse } from 'msw';
import { makeDataset, makeToken, page, users } from '@/testing/fixtures';
import { renderApp } from '@/testing/render-app';
import { server } from '@/testing/server';

describe('API tokens page', () => {
  it('creates a token, shows its key once with a script that uses it, and revokes a token after a confirm', async () => {
    let tokens = [makeToken(1, { name: 'old script', scope: 'full', last_used_at: '2024-07-03T09:00:00Z' })];
    const posted: unknown[] = [];
    const deleted: number[] = [];
    server.use(
      http.get('*/api/tokens/', () => HttpResponse.json(tokens)),
      http.post('*/api/tokens/', async ({ request }) => {
        const body = (await request.json()) as { name: string; scope: string };
        posted.push(body);
        const token = makeToken(2, { ...body, prefix: 'rv_9f8e' });
        tokens = [...tokens, token];
        return HttpResponse.json({ ...token, key: 'rv_9f8e7d6c5b4a-secret' }, { status: 201 });
      }),
      http.delete('*/api/tokens/:id/', ({ params }) => {
        deleted.push(Number(params.id));
        tokens = tokens.filter((t) => t.id !== Number(params.id));
        return new HttpResponse(null, { status: 204 });
      }),
      http.get('*/api/datasets/', () => HttpResponse.json(page([makeDataset(4, { status: 'built' }), makeDataset(6, { status: 'draft' })]))),
    );
    const { user } = renderApp('/account/tokens', { as: users.viewer });
    const first = await screen.findByTestId('token-row');
    expect(first).toHaveTextContent('old script');
    expect(first).toHaveTextContent('full');
    expect(first).toHaveTextContent('rv_ab1…');

    const form = screen.getByRole('form', { name: 'New token' });
    await user.type(within(form).getByLabelText('Name'), 'export script');
    await user.click(within(form).getByRole('button', { name: 'Create token' }));
    const created = await screen.findByTestId('new-token');
    expect(posted).toEqual([{ name: 'export script', scope: 'read' }]);
    expect(within(created).getByTestId('token-key')).toHaveTextContent('rv_9f8e7d6c5b4a-secret');
    const snippet = within(created).getByTestId('token-snippet');
    expect(snippet).toHaveTextContent('TOKEN = "rv_9f8e7d6c5b4a-secret"');
    expect(snippet).toHaveTextContent('headers = {"Authorization": f"Token {TOKEN}"}');
    await waitFor(() => expect(snippet).toHaveTextContent('DATASET = 4'));
    expect(snippet).toHaveTextContent('/api/datasets/{DATASET}/manifest.parquet');

    await user.click(within(created).getByRole('button', { name: 'Copy key' }));
    expect(await within(created).findByRole('button', { name: 'Copied' })).toBeInTheDocument();
    expect(await navigator.clipboard.readText()).toBe('rv_9f8e7d6c5b4a-secret');

    // The list knows the token but never its key; once hidden, the key is gone for good.
    await waitFor(() => expect(screen.getAllByTestId('token-row')).toHaveLength(2));
    expect(screen.getAllByTestId('token-row')[1]).not.toHaveTextContent('secret');
    await user.click(within(created).getByRole('button', { name: 'Done, hide the key' }));
    expect(screen.queryByTestId('new-token')).not.toBeInTheDocument();
    expect(screen.queryByText(/rv_9f8e7d6c5b4a-secret/)).not.toBeInTheDocument();

    const row = screen.getAllByTestId('token-row')[0];
    await user.click(within(row).getByRole('button', { name: 'Revoke' }));
    await user.click(within(row).getByRole('button', { name: 'Keep' }));
    expect(deleted).toEqual([]);
    await user.click(within(row).getByRole('button', { name: 'Revoke' }));
    await user.click(within(row).getByRole('button', { name: 'Really revoke' }));
    await waitFor(() => expect(screen.getAllByTestId('token-row')).toHaveLength(1));
    expect(deleted).toEqual([1]);
    expect(screen.getByTestId('token-row')).toHaveTextContent('export script');
  });

  it('is linked from the header for every user', async () => {
    const { user, location } = renderApp('/slides', { as: users.viewer });
    await user.click(await screen.findByRole('link', { name: 'API tokens' }));
    await waitFor(() => expect(location().pathname).toBe('/account/tokens'));
    expect(await screen.findByText('No tokens.')).toBeInTheDocument();
  });
});
