import { screen, waitFor, within } from '@testing-library/react';
import { http, HttpResponse } from 'msw';
import { users } from '@/testing/fixtures';
import { renderApp } from '@/testing/render-app';
import { requests, server } from '@/testing/server';

function lastSlideListRequest(): URL {
  const list = requests.filter((u) => u.pathname === '/api/slides/');
  return list[list.length - 1];
}

describe('slide browser: knowledge', () => {
  it('bulk-adds terms to the selected slides and shows the counts', async () => {
    const bodies: unknown[] = [];
    server.use(
      http.post('*/api/tags/bulk/', async ({ request }) => {
        bodies.push(await request.json());
        return HttpResponse.json({ slides: 2, added: 3, removed: 0 });
      }),
    );
    const { user } = renderApp('/slides?view=table', { as: users.pathologist });
    await screen.findAllByTestId('slide-item');
    await user.click(screen.getByRole('checkbox', { name: 'Select CMU-1.svs' }));
    await user.click(screen.getByRole('checkbox', { name: 'Select CMU-2.svs' }));
    const listsBefore = requests.filter((u) => u.pathname === '/api/slides/').length;

    await user.click(screen.getByRole('button', { name: 'Add terms…' }));
    const form = await screen.findByRole('form', { name: 'Add terms' });
    // Single-valued stain: picking PAS after H&E keeps only PAS.
    await user.click(await within(form).findByLabelText('H&E'));
    await user.click(within(form).getByLabelText('PAS'));
    await user.click(within(form).getByLabelText('colon'));
    await user.click(within(form).getByRole('button', { name: 'Add 2 terms' }));

    await waitFor(() => expect(bodies).toEqual([{ slides: [1, 2], add: [11, 20], remove: [] }]));
    expect(await screen.findByTestId('bulk-result')).toHaveTextContent('2 slides: 3 added, 0 removed.');
    // The list is fetched again to show the new tags.
    await waitFor(() => expect(requests.filter((u) => u.pathname === '/api/slides/').length).toBeGreaterThan(listsBefore));
  });

  it('bulk-removes terms, marks reviewed and adds to an explicit group', async () => {
    const bulk: unknown[] = [];
    const reviews: unknown[] = [];
    const members: Array<{ id: string; body: unknown }> = [];
    server.use(
      http.post('*/api/tags/bulk/', async ({ request }) => {
        bulk.push(await request.json());
        return HttpResponse.json({ slides: 4, added: 0, removed: 2 });
      }),
      http.post('*/api/slides/review/', async ({ request }) => {
        reviews.push(await request.json());
        return HttpResponse.json({});
      }),
      http.post('*/api/groups/:id/members/', async ({ request, params }) => {
        members.push({ id: String(params.id), body: await request.json() });
        return HttpResponse.json({});
      }),
    );
    const { user } = renderApp('/slides', { as: users.admin });
    await screen.findAllByTestId('slide-item');
    await user.click(screen.getByTestId('select-all-on-page'));

    await user.click(screen.getByRole('button', { name: 'Remove terms…' }));
    const form = await screen.findByRole('form', { name: 'Remove terms' });
    await user.click(await within(form).findByLabelText('liver'));
    await user.click(within(form).getByRole('button', { name: 'Remove 1 term' }));
    expect(await screen.findByTestId('bulk-result')).toHaveTextContent('4 slides: 0 added, 2 removed.');
    expect(bulk).toEqual([{ slides: [1, 2, 3, 4], add: [], remove: [21] }]);

    await user.click(screen.getByRole('button', { name: 'Mark reviewed' }));
    expect(await screen.findByTestId('bulk-result')).toHaveTextContent('4 slides marked reviewed.');
    expect(reviews).toEqual([{ slides: [1, 2, 3, 4], status: 'reviewed' }]);

    await user.click(screen.getByRole('button', { name: 'Add to group…' }));
    const groupSelect = await screen.findByLabelText('Group to add to');
    // Rule groups follow their rule and are not offered.
    await waitFor(() => expect(within(groupSelect).getAllByRole('option').map((o) => o.textContent)).toEqual(['Choose an explicit group…', 'Hand-picked']));
    await user.selectOptions(groupSelect, '2');
    await user.click(screen.getByRole('button', { name: 'Add to group' }));
    expect(await screen.findByTestId('bulk-result')).toHaveTextContent('4 slides added to the group.');
    expect(members).toEqual([{ id: '2', body: { add: [1, 2, 3, 4], remove: [] } }]);
  });

  it('puts the knowledge filters in the URL, the request and the export link', async () => {
    const { user, searchParams } = renderApp('/slides', { as: users.viewer });
    await screen.findAllByTestId('slide-item');
    const stainFilter = await screen.findByTestId('term-filter-stain');
    await user.click(within(stainFilter).getByLabelText('H&E'));
    await user.click(within(screen.getByTestId('term-filter-tissue')).getByLabelText('colon'));
    await user.click(screen.getByRole('checkbox', { name: 'excluded' }));
    await user.click(screen.getByRole('checkbox', { name: 'in no group' }));
    await waitFor(() => {
      expect(searchParams().getAll('term')).toEqual(['10', '20']);
      expect(searchParams().getAll('review_status')).toEqual(['excluded']);
      expect(searchParams().get('groups')).toBe('none');
    });
    await waitFor(() => {
      const q = lastSlideListRequest().searchParams;
      expect(q.getAll('term')).toEqual(['10', '20']);
      expect(q.get('groups')).toBe('none');
    });
    const href = screen.getByTestId('export-csv').getAttribute('href')!;
    const exportUrl = new URL(href, 'http://x');
    expect(exportUrl.pathname).toBe('/api/slides/export.csv');
    expect(exportUrl.searchParams.getAll('term')).toEqual(['10', '20']);
    expect(exportUrl.searchParams.has('page')).toBe(false);
  });

  it('opens the browser filtered by group from a link', async () => {
    renderApp('/slides?group=1&view=table', { as: users.viewer });
    await waitFor(() => expect(lastSlideListRequest()?.searchParams.get('group')).toBe('1'));
    expect(await screen.findByLabelText('Group')).toHaveValue('1');
  });

  it('renders the per-row report of a rejected CSV import', async () => {
    let sent: FormData | null = null;
    server.use(
      http.post('*/api/slides/import/', async ({ request }) => {
        sent = await request.formData();
        return HttpResponse.json(
          {
            applied_rows: 0,
            errors: [
              { row: 3, column: 'stain', message: "Unknown term 'HandE'." },
              { row: 7, column: 'colour', message: 'Unknown column.' },
            ],
          },
          { status: 400 },
        );
      }),
    );
    const { user } = renderApp('/slides', { as: users.pathologist });
    await screen.findAllByTestId('slide-item');
    await user.click(screen.getByRole('button', { name: 'Import CSV' }));
    const form = screen.getByRole('form', { name: 'Import CSV' });
    const file = new File(['slide_id,stain\n1,HandE\n'], 'tags.csv', { type: 'text/csv' });
    await user.upload(within(form).getByLabelText('CSV file'), file);
    await user.click(within(form).getByRole('button', { name: 'Upload' }));

    const report = await screen.findByTestId('import-report');
    expect(report).toHaveTextContent('Nothing was applied: 2 problems found.');
    const rows = within(report).getAllByTestId('import-error');
    expect(rows[0]).toHaveTextContent("3stainUnknown term 'HandE'.");
    expect(rows[1]).toHaveTextContent('7colourUnknown column.');
    expect(sent!.get('apply_valid')).toBe('false');
    // (jsdom's File crosses into Node's FormData without its name, so only presence is checked.)
    expect(sent!.get('file')).toBeTruthy();
  });

  it('applies the valid rows when asked and says how many', async () => {
    server.use(
      http.post('*/api/slides/import/', () =>
        HttpResponse.json({ applied_rows: 5, errors: [{ row: 2, column: 'slide_id', message: 'No such slide.' }] }),
      ),
    );
    const { user } = renderApp('/slides', { as: users.pathologist });
    await screen.findAllByTestId('slide-item');
    await user.click(screen.getByRole('button', { name: 'Import CSV' }));
    const form = screen.getByRole('form', { name: 'Import CSV' });
    await user.upload(within(form).getByLabelText('CSV file'), new File(['x'], 'a.csv', { type: 'text/csv' }));
    await user.click(within(form).getByLabelText('apply the valid rows'));
    await user.click(within(form).getByRole('button', { name: 'Upload' }));
    const report = await screen.findByTestId('import-report');
    expect(report).toHaveTextContent('5 rows applied, 1 skipped.');
    expect(within(report).getAllByTestId('import-error')).toHaveLength(1);
  });

  it('gives a viewer no bulk actions and no import, but chips, review status and export', async () => {
    const { user } = renderApp('/slides?view=table', { as: users.viewer });
    await screen.findAllByTestId('slide-item');
    await user.click(screen.getByTestId('select-all-on-page'));
    expect(screen.getByTestId('selection-count')).toHaveTextContent('4 selected');
    expect(screen.queryByRole('button', { name: 'Add terms…' })).not.toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Mark reviewed' })).not.toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Import CSV' })).not.toBeInTheDocument();
    expect(screen.getByTestId('export-csv')).toBeInTheDocument();
    expect(screen.getAllByTestId('review-status')[0]).toHaveTextContent('untagged');
  });
});
