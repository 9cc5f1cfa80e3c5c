import { screen, waitFor } from '@testing-library/react';
import { users } from '@/testing/fixtures';
import { renderApp } from '@/testing/render-app';
import { db } from '@/testing/server';

describe('login flow', () => {
  it('sends an anonymous visitor to the login page and shows the server message on a bad password', async () => {
    const { user, location } = renderApp('/slides');
    expect(await screen.findByRole('button', { name: 'Log in' })).toBeInTheDocument();
    expect(location().pathname).toBe('/login');

    await user.type(screen.getByLabelText('Username'), 'ada');
    await user.type(screen.getByLabelText('Password'), 'wrong');
    await user.click(screen.getByRole('button', { name: 'Log in' }));

    expect(await screen.findByRole('alert')).toHaveTextContent('Invalid username or password.');
    expect(location().pathname).toBe('/login');
  });

  it('lands on the slide browser after a good login', async () => {
    const { user, location } = renderApp('/');
    await user.type(await screen.findByLabelText('Username'), 'ada');
    await user.type(screen.getByLabelText('Password'), 'secret');
    await user.click(screen.getByRole('button', { name: 'Log in' }));

    expect(await screen.findByRole('heading', { name: 'Slides' })).toBeInTheDocument();
    expect(location().pathname).toBe('/slides');
    expect(await screen.findAllByTestId('slide-item')).toHaveLength(4);
  });

  it('returns to the intended URL, query string included, after login', async () => {
    const { user, location } = renderApp('/slides?status=failed&view=table');
    await user.type(await screen.findByLabelText('Username'), 'paula');
    await user.type(screen.getByLabelText('Password'), 'secret');
    await user.click(screen.getByRole('button', { name: 'Log in' }));

    await waitFor(() => expect(location().pathname).toBe('/slides'));
    expect(location().search).toBe('?status=failed&view=table');
    expect(await screen.findAllByTestId('slide-item')).toHaveLength(1);
  });

  it('logs out back to the login page', async () => {
    const { user, location } = renderApp('/slides', { as: users.viewer });
    await user.click(await screen.findByRole('button', { name: 'Log out' }));
    expect(await screen.findByRole('button', { name: 'Log in' })).toBeInTheDocument();
    expect(location().pathname).toBe('/login');
    expect(db.me).toBeNull();
  });
});
