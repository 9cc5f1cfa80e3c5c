import { render } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { RouterProvider, createMemoryRouter } from 'react-router-dom';
import { AppProvider } from '@/app/provider';
import { routes } from '@/app/router';
import { createQueryClient } from '@/lib/query-client';
import { db } from './server';
import type { FixtureUser } from './fixtures';

/** Render the whole app at `url`, as `as` (or logged out), against the MSW-mocked API. */
export function renderApp(url: string, opts: { as?: FixtureUser | null } = {}) {
  if (opts.as !== undefined) db.me = opts.as;
  const router = createMemoryRouter(routes, { initialEntries: [url] });
  const queryClient = createQueryClient({ retry: false });
  const user = userEvent.setup();
  const utils = render(
    <AppProvider queryClient={queryClient}>
      <RouterProvider router={router} />
    </AppProvider>,
  );
  const location = () => router.state.location;
  const searchParams = () => new URLSearchParams(router.state.location.search);
  return { ...utils, router, user, queryClient, location, searchParams };
}
