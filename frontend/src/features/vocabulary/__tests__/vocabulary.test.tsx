import { screen, waitFor, within } from '@testing-library/react';
import { http, HttpResponse } from 'msw';
import { users } from '@/testing/fixtures';
import { renderApp } from '@/testing/render-app';
import { server } from '@/testing/server';

describe('vocabulary page', () => {
  it('lets an admin add a term with synonyms, edit one and deactivate one', async () => {
    const posts: unknown[] = [];
    const patches: Array<{ id: string; body: unknown }> = [];
    server.use(
      http.post('*/api/terms/', async ({ request }) => {
        const body = (await request.json()) as Record<string, unknown>;
        posts.push(body);
        return HttpResponse.json({ id: 30, category_key: 'tissue', active: true, ...body }, { status: 201 });
      }),
      http.patch('*/api/terms/:id/', async ({ request, params }) => {
        const body = await request.json();
        patches.push({ id: String(params.id), body });
        return HttpResponse.json({ id: Number(params.id), category: 1, category_key: 'stain', name: 'PAS', code: '', synonyms: [], active: false });
      }),
    );
    const { user } = renderApp('/vocabulary', { as: users.admin });
    const tissue = await screen.findByTestId('category-tissue');
    await user.click(within(tissue).getByRole('button', { name: 'Add term' }));
    const form = within(tissue).getByRole('form', { name: 'New term' });
    await user.type(within(form).getByLabelText('Name'), 'rectum');
    await user.type(within(form).getByLabelText('Code'), 'UBERON:0001052');
    await user.type(within(form).getByLabelText('Synonyms (comma-separated)'), 'rectal, ,  intestinum rectum ');
    await user.click(within(form).getByRole('button', { name: 'Add term' }));
    await waitFor(() =>
      expect(posts).toEqual([{ category: 2, name: 'rectum', code: 'UBERON:0001052', synonyms: ['rectal', 'intestinum rectum'] }]),
    );

    const stain = screen.getByTestId('category-stain');
    const pasRow = within(stain).getAllByTestId('term-row').find((r) => r.textContent?.includes('PAS'))!;
    await user.click(within(pasRow).getByRole('button', { name: 'Deactivate' }));
    await waitFor(() => expect(patches).toEqual([{ id: '11', body: { active: false } }]));
  });

  it('adds a category', async () => {
    const posts: unknown[] = [];
    server.use(
      http.post('*/api/categories/', async ({ request }) => {
        const body = (await request.json()) as Record<string, unknown>;
        posts.push(body);
        return HttpResponse.json({ id: 9, description: '', order: 9, ...body }, { status: 201 });
      }),
    );
    const { user } = renderApp('/vocabulary', { as: users.admin });
    await user.click(await screen.findByRole('button', { name: 'Add category' }));
    const form = screen.getByRole('form', { name: 'New category' });
    await user.type(within(form).getByLabelText('Key'), 'grade');
    await user.type(within(form).getByLabelText('Name'), 'Grade');
    await user.click(within(form).getByLabelText('several terms per slide'));
    await user.click(within(form).getByRole('button', { name: 'Add category' }));
    await waitFor(() => expect(posts).toEqual([{ key: 'grade', name: 'Grade', multi_valued: false }]));
  });

  it('is read-only for a pathologist', async () => {
    renderApp('/vocabulary', { as: users.pathologist });
    const stain = await screen.findByTestId('category-stain');
    expect(within(stain).getAllByTestId('term-row')).toHaveLength(3);
    expect(within(stain).getByText('HE')).toBeInTheDocument();
    expect(within(screen.getByRole('main')).queryByRole('button')).toBeNull();
  });
});
