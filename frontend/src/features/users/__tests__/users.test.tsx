import { screen, waitFor, within } from '@testing-library/react';
import { http, HttpResponse } from 'msw';
import { page, users } from '@/testing/fixtures';
import { renderApp } from '@/testing/render-app';
import { server } from '@/testing/server';

describe('users (admin)', () => {
  it('lists users, changes a role and creates a user', async () => {
    const patches: unknown[] = [];
    const created: unknown[] = [];
    server.use(
      http.get('*/api/users/', () => HttpResponse.json(page(Object.values(users)))),
      http.patch('*/api/users/:id/', async ({ request, params }) => {
        patches.push({ id: params.id, ...((await request.json()) as object) });
        return HttpResponse.json({ ...users.viewer, role: 'pathologist' });
      }),
      http.post('*/api/users/', async ({ request }) => {
        const body = (await request.json()) as Record<string, string>;
        created.push(body);
        if (body.username === 'ada') {
          return HttpResponse.json({ detail: 'Invalid input.', code: 'invalid', fields: { username: ['A user with that username already exists.'] } }, { status: 400 });
        }
        return HttpResponse.json({ id: 9, username: body.username, full_name: body.full_name, role: body.role, is_active: true }, { status: 201 });
      }),
    );
    const { user } = renderApp('/users', { as: users.admin });
    expect(await screen.findAllByTestId('user-row')).toHaveLength(3);

    await user.selectOptions(screen.getByLabelText('Role of vic'), 'pathologist');
    await waitFor(() => expect(patches).toEqual([{ id: '3', role: 'pathologist' }]));

    const form = screen.getByRole('form', { name: 'Create user' });
    await user.type(within(form).getByLabelText('Username'), 'ada');
    await user.type(within(form).getByLabelText('Password'), 'pw');
    await user.click(within(form).getByRole('button', { name: 'Create user' }));
    expect(await within(form).findByRole('alert')).toHaveTextContent('username: A user with that username already exists.');

    await user.clear(within(form).getByLabelText('Username'));
    await user.type(within(form).getByLabelText('Username'), 'newbie');
    await user.type(within(form).getByLabelText('Password'), 'pw');
    await user.selectOptions(within(form).getByLabelText('New user role'), 'pathologist');
    await user.click(within(form).getByRole('button', { name: 'Create user' }));
    expect(await within(form).findByText(/User “newbie” created/)).toBeInTheDocument();
    expect(created[1]).toMatchObject({ username: 'newbie', role: 'pathologist' });
  });

  it('cannot deactivate yourself', async () => {
    server.use(http.get('*/api/users/', () => HttpResponse.json(page(Object.values(users)))));
    renderApp('/users', { as: users.admin });
    const rows = await screen.findAllByTestId('user-row');
    expect(within(rows[0]).getByRole('button', { name: 'Deactivate' })).toBeDisabled();
    expect(within(rows[1]).getByRole('button', { name: 'Deactivate' })).toBeEnabled();
  });
});
