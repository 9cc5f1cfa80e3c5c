import { screen, waitFor, within } from '@testing-library/react';
import { http, HttpResponse } from 'msw';
import { page, users } from '@/testing/fixtures';
import { renderApp } from '@/testing/render-app';
import { requests, server } from '@/testing/server';

const entries = [
  {
    id: 2,
    at: '2024-06-02T10:00:00Z',
    actor: 2,
    actor_name: 'paula',
    action: 'review.set',
    object_type: 'slide',
    object_id: 12,
    slide: 12,
    before: { review_status: 'tagged', review_reason: '' },
    after: { review_status: 'excluded', review_reason: 'out of focus' },
  },
  {
    id: 1,
    at: '2024-06-01T10:00:00Z',
    actor: 1,
    actor_name: 'ada',
    action: 'tag.add',
    object_type: 'slidetag',
    object_id: 5,
    slide: 12,
    before: null,
    after: { term: 'H&E', category: 'stain' },
  },
];

describe('audit page', () => {
  it('renders who did what, with before → after', async () => {
    server.use(http.get('*/api/audit/', () => HttpResponse.json(page(entries))));
    renderApp('/audit', { as: users.viewer });
    const rows = await screen.findAllByTestId('audit-row');
    expect(rows[0]).toHaveTextContent('paula');
    expect(rows[0]).toHaveTextContent('review.set');
    expect(within(rows[0]).getByRole('link', { name: '#12' })).toHaveAttribute('href', '/slides/12');
    const change = within(rows[0]).getByTestId('change-summary');
    expect(change).toHaveTextContent('review_status: tagged → excluded');
    expect(change).toHaveTextContent('review_reason: ∅ → out of focus');
    expect(within(change).getAllByRole('deletion')[0]).toHaveTextContent('tagged');
    const created = within(rows[1]).getByTestId('change-summary');
    expect(created).toHaveTextContent('term: H&E');
    expect(created).not.toHaveTextContent('→');
  });

  it('keeps its filters in the URL and the request', async () => {
    const { user, searchParams } = renderApp('/audit?slide=12', { as: users.viewer });
    await waitFor(() => expect(requests.some((u) => u.pathname === '/api/audit/' && u.searchParams.get('slide') === '12')).toBe(true));
    const form = screen.getByRole('form', { name: 'Audit filters' });
    expect(within(form).getByLabelText('Slide id')).toHaveValue(12);
    await user.type(within(form).getByLabelText('Action'), 'tag.add');
    await user.click(within(form).getByRole('button', { name: 'Filter' }));
    await waitFor(() => expect(searchParams().get('action')).toBe('tag.add'));
    expect(searchParams().get('slide')).toBe('12');
    await waitFor(() =>
      expect(requests.some((u) => u.pathname === '/api/audit/' && u.searchParams.get('action') === 'tag.add' && u.searchParams.get('slide') === '12')).toBe(true),
    );
  });
});
