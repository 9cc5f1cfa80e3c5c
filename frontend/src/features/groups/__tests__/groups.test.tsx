import { screen, waitFor, within } from '@testing-library/react';
import { http, HttpResponse } from 'msw';
import { makeGroup, users } from '@/testing/fixtures';
import { renderApp } from '@/testing/render-app';
import { db, server } from '@/testing/server';

describe('groups page', () => {
  it('shows the summary and the groups, with counts linking to the slide browser', async () => {
    const { user, location } = renderApp('/groups', { as: users.viewer });
    const summary = await screen.findByTestId('group-summary');
    await waitFor(() => expect(summary).toHaveTextContent('4 slides'));
    expect(summary).toHaveTextContent('1 in no group');
    expect(summary).toHaveTextContent('0 in several groups');
    const rows = await screen.findAllByTestId('group-row');
    expect(rows).toHaveLength(2);
    expect(rows[0]).toHaveTextContent('stain = "H&E"');
    await user.click(within(rows[0]).getByTestId('group-count'));
    await waitFor(() => expect(location().pathname).toBe('/slides'));
    expect(location().search).toBe('?group=1');
  });

  it('shows a live count while a rule is typed, and the parse error from a 400', async () => {
    const previews: string[] = [];
    server.use(
      http.post('*/api/groups/preview/', async ({ request }) => {
        const { rule } = (await request.json()) as { rule: string };
        previews.push(rule);
        if (rule.includes('AND AND')) {
          return HttpResponse.json({ detail: "Rule does not parse at position 14: expected a category, found 'AND'.", code: 'invalid_rule' }, { status: 400 });
        }
        return HttpResponse.json({ slide_count: 42 });
      }),
    );
    const { user } = renderApp('/groups', { as: users.pathologist });
    await user.click(await screen.findByRole('button', { name: 'New group' }));
    const form = screen.getByRole('form', { name: 'New group' });
    const rule = within(form).getByTestId('group-rule');
    await user.type(rule, 'stain = HE');
    await waitFor(() => expect(within(form).getByTestId('rule-preview')).toHaveTextContent('42 slides match'));
    // Debounced: one request for the settled text, not one per keystroke.
    expect(previews).toEqual(['stain = HE']);

    await user.type(rule, ' AND AND');
    expect(await within(form).findByTestId('rule-error')).toHaveTextContent("position 14: expected a category, found 'AND'");
    expect(within(form).queryByTestId('rule-preview')).not.toBeInTheDocument();
  });

  it('creates a rule group and freezes a group', async () => {
    const created: unknown[] = [];
    server.use(
      http.post('*/api/groups/preview/', () => HttpResponse.json({ slide_count: 3 })),
      http.post('*/api/groups/', async ({ request }) => {
        const body = (await request.json()) as Record<string, unknown>;
        created.push(body);
        const group = makeGroup(3, { ...body, slide_count: 3 });
        db.groups = [...db.groups, group];
        return HttpResponse.json(group, { status: 201 });
      }),
      http.post('*/api/groups/:id/freeze/', ({ params }) =>
        HttpResponse.json({ id: 7, group: Number(params.id), slide_count: 2, created_at: '2024-06-02T10:00:00Z' }, { status: 201 }),
      ),
      http.get('*/api/groups/1/snapshots/', () => HttpResponse.json([{ id: 7, group: 1, slide_count: 2, created_at: '2024-06-02T10:00:00Z' }])),
    );
    const { user } = renderApp('/groups', { as: users.admin });
    await user.click(await screen.findByRole('button', { name: 'New group' }));
    const form = screen.getByRole('form', { name: 'New group' });
    await user.type(within(form).getByTestId('group-name'), 'Colon H&E');
    await user.clear(within(form).getByLabelText('Weight'));
    await user.type(within(form).getByLabelText('Weight'), '2.5');
    await user.type(within(form).getByTestId('group-rule'), 'stain = "H&E" AND tissue = colon');
    await user.click(within(form).getByRole('button', { name: 'Create group' }));
    await waitFor(() =>
      expect(created).toEqual([{ name: 'Colon H&E', description: '', weight: 2.5, kind: 'rule', rule: 'stain = "H&E" AND tissue = colon' }]),
    );
    await waitFor(() => expect(screen.getAllByTestId('group-row')).toHaveLength(3));
    expect(screen.queryByRole('form', { name: 'New group' })).not.toBeInTheDocument();

    const first = screen.getAllByTestId('group-row')[0];
    await user.click(within(first).getByRole('button', { name: 'Freeze membership' }));
    expect(await screen.findByTestId('snapshot')).toHaveTextContent('#7');
  });

  it('gives a viewer no edit controls', async () => {
    renderApp('/groups', { as: users.viewer });
    const rows = await screen.findAllByTestId('group-row');
    expect(screen.queryByRole('button', { name: 'New group' })).not.toBeInTheDocument();
    expect(within(rows[0]).queryByRole('button', { name: 'Edit' })).not.toBeInTheDocument();
    expect(within(rows[0]).queryByRole('button', { name: 'Delete' })).not.toBeInTheDocument();
    expect(within(rows[0]).queryByRole('button', { name: 'Freeze membership' })).not.toBeInTheDocument();
    expect(within(rows[0]).getByRole('button', { name: 'Snapshots' })).toBeInTheDocument();
  });
});
