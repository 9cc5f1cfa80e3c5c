import { screen, waitFor, within } from '@testing-library/react';
import { http, HttpResponse } from 'msw';
import { page, users } from '@/testing/fixtures';
import { renderApp } from '@/testing/render-app';
import { server } from '@/testing/server';

const rule = { id: 4, name: 'Lab B H&E', field: 'path', pattern: '^lab_b/.*_HE', term: 10, term_name: 'H&E', category_key: 'stain', active: true };

describe('tag rules page', () => {
  it('creates a rule, previews its matches and applies it after confirmation', async () => {
    const posts: unknown[] = [];
    let applied = 0;
    server.use(
      http.get('*/api/tag-rules/', () => HttpResponse.json(page([rule]))),
      http.post('*/api/tag-rules/', async ({ request }) => {
        posts.push(await request.json());
        return HttpResponse.json({ ...rule, id: 5 }, { status: 201 });
      }),
      http.get('*/api/tag-rules/4/preview/', () =>
        HttpResponse.json(
          page([
            { id: 1, name: 'b1_HE.svs', relative_path: 'lab_b/b1_HE.svs', has_term: true },
            { id: 2, name: 'b2_HE.svs', relative_path: 'lab_b/b2_HE.svs', has_term: false },
          ]),
        ),
      ),
      http.post('*/api/tag-rules/4/apply/', () => {
        applied += 1;
        return HttpResponse.json({ matched: 2, added: 1 });
      }),
    );
    const { user } = renderApp('/tag-rules', { as: users.admin });
    await user.click(await screen.findByRole('button', { name: 'New rule' }));
    const form = screen.getByRole('form', { name: 'New tag rule' });
    await user.type(within(form).getByLabelText('Name'), 'PAS by name');
    await user.selectOptions(within(form).getByLabelText('Field'), 'name');
    await user.type(within(form).getByLabelText('Pattern (regular expression)'), '_PAS\\.');
    await waitFor(() => expect(within(form).getByRole('option', { name: 'PAS' })).toBeInTheDocument());
    await user.selectOptions(within(form).getByLabelText('Term'), '11');
    await user.click(within(form).getByRole('button', { name: 'Create rule' }));
    await waitFor(() => expect(posts).toEqual([{ name: 'PAS by name', field: 'name', pattern: '_PAS\\.', term: 11, active: true }]));

    const row = screen.getByTestId('tag-rule-row');
    await user.click(within(row).getByRole('button', { name: 'Preview' }));
    const preview = await screen.findByTestId('rule-preview-panel');
    expect(within(preview).getAllByTestId('preview-slide')).toHaveLength(2);
    expect(preview).toHaveTextContent('1 on this page lack “H&E”');

    await user.click(within(row).getByRole('button', { name: 'Apply' }));
    expect(applied).toBe(0);
    await user.click(within(row).getByRole('button', { name: 'Yes, apply' }));
    expect(await within(row).findByTestId('apply-result')).toHaveTextContent('2 matched, 1 added.');
    expect(applied).toBe(1);
  });

  it('shows the server message for an invalid regular expression', async () => {
    server.use(
      http.post('*/api/tag-rules/', () =>
        HttpResponse.json({ detail: 'Invalid input.', code: 'invalid', fields: { pattern: ['Not a valid regular expression: unbalanced parenthesis.'] } }, { status: 400 }),
      ),
    );
    const { user } = renderApp('/tag-rules', { as: users.admin });
    await user.click(await screen.findByRole('button', { name: 'New rule' }));
    const form = screen.getByRole('form', { name: 'New tag rule' });
    await user.type(within(form).getByLabelText('Name'), 'bad');
    await user.type(within(form).getByLabelText('Pattern (regular expression)'), '(oops');
    await waitFor(() => expect(within(form).getByRole('option', { name: 'H&E' })).toBeInTheDocument());
    await user.selectOptions(within(form).getByLabelText('Term'), '10');
    await user.click(within(form).getByRole('button', { name: 'Create rule' }));
    expect(await within(form).findByRole('alert')).toHaveTextContent('pattern: Not a valid regular expression');
  });

  it('is for admins only', async () => {
    renderApp('/tag-rules', { as: users.pathologist });
    expect(await screen.findByRole('heading', { name: "You don't have access" })).toBeInTheDocument();
  });
});
