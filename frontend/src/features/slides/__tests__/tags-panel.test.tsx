import { screen, waitFor, within } from '@testing-library/react';
import { http, HttpResponse } from 'msw';
import { makeCategories, makeTag, users } from '@/testing/fixtures';
import { renderApp } from '@/testing/render-app';
import { db, server } from '@/testing/server';

vi.mock('../components/osd-viewer', () => ({ OsdViewer: () => <div data-testid="slide-viewer" /> }));

const [stain, tissue] = makeCategories();
const he = stain.terms[0];
const pas = stain.terms[1];
const colon = tissue.terms[0];

async function openPanel(as: (typeof users)[keyof typeof users] = users.pathologist) {
  const utils = renderApp('/slides/12', { as });
  const panel = await screen.findByTestId('tags-panel');
  return { ...utils, panel };
}

describe('tags panel in the viewer', () => {
  it('groups the tags by category and says who added them', async () => {
    db.tags[12] = [makeTag(1, he), makeTag(2, colon, { created_by: 'ada' })];
    const { panel } = await openPanel();
    const stainRow = await within(panel).findByTestId('tag-category-stain');
    expect(within(stainRow).getByTestId('slide-tag')).toHaveTextContent('H&E');
    expect(within(stainRow).getByTestId('slide-tag')).toHaveAttribute('title', expect.stringContaining('Added by paula'));
    expect(within(panel).getByTestId('tag-category-tissue')).toHaveTextContent('colon');
  });

  it('replaces the term of a single-valued category', async () => {
    db.tags[12] = [makeTag(1, he)];
    const posted: unknown[] = [];
    server.events.on('request:start', async ({ request }) => {
      if (request.method === 'POST' && request.url.endsWith('/api/slides/12/tags/')) posted.push(await request.clone().json());
    });
    const { panel, user } = await openPanel();
    const stainRow = await within(panel).findByTestId('tag-category-stain');
    const picker = within(stainRow).getByLabelText('Replace Stain term');
    await user.click(picker);
    // Inactive terms and the one the slide has are not offered.
    const options = within(stainRow).getAllByRole('option');
    expect(options.map((o) => o.textContent)).toEqual(['PAS']);
    await user.click(options[0]);

    await waitFor(() => expect(posted).toEqual([{ term: pas.id }]));
    await waitFor(() => expect(within(stainRow).getAllByTestId('slide-tag').map((el) => el.textContent)).toEqual(['PAS×']));
    server.events.removeAllListeners();
  });

  it('adds a second term to a multi-valued category and removes one', async () => {
    db.tags[12] = [makeTag(2, colon)];
    const { panel, user } = await openPanel();
    const row = await within(panel).findByTestId('tag-category-tissue');
    await user.type(within(row).getByLabelText('Add Tissue term'), 'liv{Enter}');
    await waitFor(() => expect(within(row).getAllByTestId('slide-tag').map((el) => el.textContent)).toEqual(['colon×', 'liver×']));
    await user.click(within(row).getByRole('button', { name: 'Remove colon' }));
    await waitFor(() => expect(within(row).getAllByTestId('slide-tag').map((el) => el.textContent)).toEqual(['liver×']));
  });

  it('confirms a suggestion by posting its term', async () => {
    db.suggestions[12] = [{ term: { ...he }, reason: "scanner vendor 'aperio'" }];
    const posted: unknown[] = [];
    server.use(
      http.post('*/api/slides/12/tags/', async ({ request }) => {
        posted.push(await request.json());
        db.suggestions[12] = [];
        db.tags[12] = [makeTag(5, he)];
        return HttpResponse.json(db.tags[12][0], { status: 201 });
      }),
    );
    const { panel, user } = await openPanel();
    const suggestion = await within(panel).findByTestId('suggestion');
    expect(suggestion).toHaveTextContent("scanner vendor 'aperio'");
    await user.click(within(suggestion).getByRole('button', { name: 'Confirm H&E' }));
    await waitFor(() => expect(posted).toEqual([{ term: he.id }]));
    expect(await within(panel).findByText('No suggestions.')).toBeInTheDocument();
    expect(within(panel).getByTestId('tag-category-stain')).toHaveTextContent('H&E');
  });

  it('marks the slide reviewed and excludes it with a reason', async () => {
    const bodies: unknown[] = [];
    server.use(
      http.post('*/api/slides/review/', async ({ request }) => {
        bodies.push(await request.json());
        return HttpResponse.json({ slides: 1 });
      }),
    );
    const { panel, user } = await openPanel();
    await user.click(within(panel).getByRole('button', { name: 'Mark reviewed' }));
    await waitFor(() => expect(bodies).toEqual([{ slides: [12], status: 'reviewed' }]));

    await user.click(within(panel).getByRole('button', { name: 'Exclude…' }));
    await user.type(within(panel).getByLabelText('Reason for excluding'), 'out of focus');
    await user.click(within(panel).getByRole('button', { name: 'Exclude' }));
    await waitFor(() => expect(bodies[1]).toEqual({ slides: [12], status: 'excluded', reason: 'out of focus' }));
  });

  it('shows a viewer the tags but no edit controls', async () => {
    db.tags[12] = [makeTag(1, he)];
    db.suggestions[12] = [{ term: { ...colon }, reason: 'path' }];
    const { panel } = await openPanel(users.viewer);
    expect(await within(panel).findByTestId('slide-tag')).toHaveTextContent('H&E');
    expect(await within(panel).findByTestId('suggestion')).toBeInTheDocument();
    expect(within(panel).queryByRole('button')).not.toBeInTheDocument();
    expect(within(panel).queryByRole('searchbox')).not.toBeInTheDocument();
  });
});
