import { screen, waitFor, within } from '@testing-library/react';
import { http, HttpResponse } from 'msw';
import { makeSemanticCategories, users } from '@/testing/fixtures';
import { renderApp } from '@/testing/render-app';
import { server } from '@/testing/server';

describe('semantic categories', () => {
  it('shows the server’s refusal when deleting a category in use', async () => {
    server.use(
      http.delete('*/api/semantic-categories/:id/', () =>
        HttpResponse.json({ detail: '“Tumour” names 4 clusters; give them another category first.', code: 'in_use' }, { status: 409 }),
      ),
    );
    const { user } = renderApp('/clusters/categories', { as: users.pathologist });
    const rows = await screen.findAllByTestId('semantic-category-row');
    expect(rows).toHaveLength(9);
    const tumour = rows[0];
    expect(tumour).toHaveTextContent('Tumour');
    await user.click(within(tumour).getByRole('button', { name: 'Delete' }));
    await user.click(within(tumour).getByRole('button', { name: 'Really delete' }));
    expect(await within(tumour).findByRole('alert')).toHaveTextContent('“Tumour” names 4 clusters; give them another category first.');
  });

  it('adds a category with its colour, weight and key', async () => {
    const bodies: unknown[] = [];
    server.use(
      http.post('*/api/semantic-categories/', async ({ request }) => {
        const body = (await request.json()) as Record<string, unknown>;
        bodies.push(body);
        return HttpResponse.json({ id: 10, position: 10, cluster_count: 0, ...body }, { status: 201 });
      }),
    );
    const { user } = renderApp('/clusters/categories', { as: users.admin });
    const form = await screen.findByRole('form', { name: 'New semantic category' });
    await user.type(within(form).getByLabelText('Name'), 'Cartilage');
    await user.clear(within(form).getByLabelText('Default weight'));
    await user.type(within(form).getByLabelText('Default weight'), '0.8');
    await user.type(within(form).getByLabelText('Shortcut'), '0');
    await user.click(within(form).getByRole('button', { name: 'Add category' }));
    await waitFor(() => expect(bodies).toEqual([{ name: 'Cartilage', colour: '#1f77b4', default_weight: 0.8, shortcut: '0', description: '' }]));
  });

  it('is read-only for viewers', async () => {
    server.use(http.get('*/api/semantic-categories/', () => HttpResponse.json(makeSemanticCategories().slice(0, 2))));
    renderApp('/clusters/categories', { as: users.viewer });
    expect(await screen.findAllByTestId('semantic-category-row')).toHaveLength(2);
    expect(screen.queryByRole('button', { name: 'Delete' })).not.toBeInTheDocument();
    expect(screen.queryByRole('form', { name: 'New semantic category' })).not.toBeInTheDocument();
  });
});
