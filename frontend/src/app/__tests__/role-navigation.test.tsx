import { screen, within } from '@testing-library/react';
import { http, HttpResponse } from 'msw';
import { users } from '@/testing/fixtures';
import { renderApp } from '@/testing/render-app';
import { server } from '@/testing/server';

describe('navigation by role', () => {
  it('a viewer sees Slides and API docs but no admin links', async () => {
    renderApp('/slides', { as: users.viewer });
    const nav = await screen.findByRole('navigation', { name: 'Main' });
    expect(within(nav).getByRole('link', { name: 'Slides' })).toBeInTheDocument();
    expect(within(nav).getByRole('link', { name: 'API docs' })).toHaveAttribute('href', '/api/docs/');
    expect(within(nav).queryByRole('link', { name: 'Slide roots' })).not.toBeInTheDocument();
    expect(within(nav).queryByRole('link', { name: 'Users' })).not.toBeInTheDocument();
    expect(within(nav).getByRole('link', { name: 'Groups' })).toBeInTheDocument();
    expect(within(nav).getByRole('link', { name: 'Audit' })).toBeInTheDocument();
    expect(within(nav).queryByRole('link', { name: 'Vocabulary' })).not.toBeInTheDocument();
    expect(within(nav).queryByRole('link', { name: 'Tag rules' })).not.toBeInTheDocument();
    expect(screen.getByTestId('current-user')).toHaveTextContent('vic');
    expect(screen.getByTestId('current-user')).toHaveTextContent('viewer');
  });

  it('an admin sees the admin links', async () => {
    renderApp('/slides', { as: users.admin });
    const nav = await screen.findByRole('navigation', { name: 'Main' });
    expect(within(nav).getByRole('link', { name: 'Slide roots' })).toBeInTheDocument();
    expect(within(nav).getByRole('link', { name: 'Users' })).toBeInTheDocument();
    expect(within(nav).getByRole('link', { name: 'Vocabulary' })).toBeInTheDocument();
    expect(within(nav).getByRole('link', { name: 'Tag rules' })).toBeInTheDocument();
    expect(screen.getByTestId('current-user')).toHaveTextContent('admin');
  });

  it.each(['/users', '/slide-roots'])('a pathologist opening %s is told they have no access', async (url) => {
    renderApp(url, { as: users.pathologist });
    expect(await screen.findByRole('heading', { name: "You don't have access" })).toBeInTheDocument();
  });

  it('shows a readable message, not a stack trace, when /me fails with a 500', async () => {
    server.use(http.get('*/api/auth/me/', () => new HttpResponse('Traceback (most recent call last): ...', { status: 500 })));
    renderApp('/slides');
    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent(/server had a problem/i);
    expect(alert).not.toHaveTextContent(/Traceback/);
  });
});
