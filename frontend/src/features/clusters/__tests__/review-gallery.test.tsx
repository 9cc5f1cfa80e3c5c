import { screen, waitFor, within } from '@testing-library/react';
import { http, HttpResponse } from 'msw';
import { users, type FixtureUser } from '@/testing/fixtures';
import { renderApp } from '@/testing/render-app';
import { server } from '@/testing/server';
import { serveRun } from './gallery-server';

const rowOf = (index: number) => screen.getAllByTestId('cluster-row').find((r) => r.dataset.index === String(index)) as HTMLElement;
const categoryButton = (name: RegExp) => within(screen.getByRole('group', { name: 'Categories' })).getByRole('button', { name });
const progress = () => screen.getByTestId('review-progress');

async function openGallery(url = '/clusters/runs/3', as: FixtureUser = users.pathologist) {
  const app = renderApp(url, { as });
  await screen.findByRole('region', { name: 'Representative tiles' });
  // Categories load separately; the buttons show when they are there.
  await within(await screen.findByRole('group', { name: 'Categories' })).findByRole('button', { name: /Tumour/ });
  return app;
}

describe('cluster review gallery', () => {
  it('reviews with the keyboard: accept, move, reject, undo, a note, and the help overlay', async () => {
    const state = serveRun();
    const { user, searchParams } = await openGallery();
    expect(searchParams().get('cluster')).toBe('0');
    expect(screen.getByRole('heading', { name: 'Cluster #0' })).toBeInTheDocument();
    expect(within(screen.getByRole('region', { name: 'Representative tiles' })).getAllByRole('img')[0]).toHaveAttribute('src', '/api/slide-tilings/5/tiles/1.jpg');
    expect(progress()).toHaveTextContent('0/4 (0%)');

    // 1: Tumour, then on to the next unreviewed cluster.
    await user.keyboard('1');
    await waitFor(() => expect(searchParams().get('cluster')).toBe('1'));
    expect(rowOf(0)).toHaveTextContent('Tumour');
    expect(progress()).toHaveTextContent('1/4 (25%)');
    await waitFor(() => expect(state.posts).toHaveLength(1));
    expect(state.posts[0]).toEqual({ id: 100, body: { version: 1, status: 'accepted', category: 1, reject_reason: '', weight: null, note: '' } });

    // k / j move by one.
    await user.keyboard('k');
    expect(searchParams().get('cluster')).toBe('0');
    await user.keyboard('j');
    expect(searchParams().get('cluster')).toBe('1');
    await user.keyboard('{ArrowRight}');
    expect(searchParams().get('cluster')).toBe('2');
    await user.keyboard('{ArrowLeft}');
    expect(searchParams().get('cluster')).toBe('1');

    // b: rejected as background.
    await user.keyboard('b');
    await waitFor(() => expect(searchParams().get('cluster')).toBe('2'));
    expect(rowOf(1)).toHaveTextContent('rejected: background');
    await waitFor(() => expect(state.posts).toHaveLength(2));
    expect(state.posts[1].body).toMatchObject({ status: 'rejected', reject_reason: 'background', category: null, version: 1 });

    // u: back to unreviewed, staying on the cluster.
    await user.keyboard('k');
    expect(searchParams().get('cluster')).toBe('1');
    await user.keyboard('u');
    await waitFor(() => expect(state.posts).toHaveLength(3));
    expect(state.posts[2].body).toMatchObject({ status: 'unreviewed', version: 2 });
    expect(searchParams().get('cluster')).toBe('1');
    await waitFor(() => expect(rowOf(1)).toHaveTextContent('unreviewed'));
    expect(progress()).toHaveTextContent('1/4 (25%)');

    // n: the note; keys typed there are text, Enter keeps it for the decision.
    await user.keyboard('n');
    const note = screen.getByLabelText('Note');
    expect(note).toHaveFocus();
    await user.keyboard('jk fibrous{Enter}');
    expect(note).not.toHaveFocus();
    expect(note).toHaveValue('jk fibrous');
    expect(searchParams().get('cluster')).toBe('1');
    expect(screen.getByTestId('save-status')).toHaveTextContent('Unsaved');
    await user.keyboard('2');
    await waitFor(() => expect(state.posts).toHaveLength(4));
    expect(state.posts[3].body).toMatchObject({ status: 'accepted', category: 2, note: 'jk fibrous', version: 3 });
    await waitFor(() => expect(searchParams().get('cluster')).toBe('2'));
    expect(progress()).toHaveTextContent('2/4 (50%)');

    // ?: the shortcuts; ? again closes them.
    await user.keyboard('?');
    const help = screen.getByRole('dialog', { name: 'Keyboard shortcuts' });
    expect(help).toHaveTextContent('next unreviewed cluster');
    await user.keyboard('j'); // ignored while the help is open
    expect(searchParams().get('cluster')).toBe('2');
    await user.keyboard('?');
    expect(screen.queryByRole('dialog', { name: 'Keyboard shortcuts' })).not.toBeInTheDocument();
  });

  it('keeps the reviewer’s input when someone else changed the cluster (409 stale) and applies it again', async () => {
    const state = serveRun();
    // Someone else already named cluster 0 Stroma: our cached version 1 is stale.
    state.clusters[0] = { ...state.clusters[0], status: 'accepted', category: 2, category_name: 'Stroma', category_colour: '#e377c2', version: 5, reviewed_by: 'sam' };
    server.use(http.get('*/api/clusters/', () => HttpResponse.json({ count: 4, next: null, previous: null, results: [{ ...state.clusters[0], status: 'unreviewed', category: null, category_name: '', category_colour: '', version: 1 }, ...state.clusters.slice(1)] })));
    const { user, searchParams } = await openGallery();

    await user.keyboard('w');
    await user.keyboard('2.5{Enter}');
    await user.keyboard('n');
    await user.keyboard('my careful note{Enter}');
    await user.keyboard('1');

    const problem = await screen.findByTestId('review-problem');
    expect(problem).toHaveTextContent('Someone else changed cluster #0: their decision is shown; yours (Tumour) was not saved — apply again?');
    // Back on the cluster, showing their decision, with our input intact.
    await screen.findByRole('heading', { name: 'Cluster #0' });
    expect(searchParams().get('cluster')).toBe('0');
    expect(screen.getByTestId('cluster-status')).toHaveTextContent('accepted');
    expect(categoryButton(/Stroma/)).toHaveAttribute('aria-pressed', 'true');
    expect(rowOf(0)).toHaveTextContent('Stroma');
    expect(screen.getByLabelText('Note')).toHaveValue('my careful note');
    expect(screen.getByLabelText('Weight')).toHaveValue(2.5);
    expect(state.posts[0].body).toMatchObject({ version: 1, category: 1, weight: 2.5, note: 'my careful note' });

    await user.click(within(problem).getByRole('button', { name: 'Apply again' }));
    await waitFor(() => expect(state.posts).toHaveLength(2));
    expect(state.posts[1].body).toEqual({ version: 5, status: 'accepted', category: 1, reject_reason: '', weight: 2.5, note: 'my careful note' });
    await waitFor(() => expect(rowOf(0)).toHaveTextContent('Tumour'));
    expect(screen.queryByTestId('review-problem')).not.toBeInTheDocument();
    expect(state.clusters[0]).toMatchObject({ category: 1, note: 'my careful note', version: 6 });
  });

  it('disables decisions on a locked run', async () => {
    const state = serveRun({ run: { locked: true, locked_by: 'ada' } });
    const { user, searchParams } = await openGallery();
    expect(screen.getByRole('note')).toHaveTextContent('This run is locked for final review');
    expect(screen.getByTestId('lock-state')).toHaveTextContent('locked by ada');
    expect(categoryButton(/Tumour/)).toBeDisabled();
    expect(screen.getByRole('button', { name: /Background/ })).toBeDisabled();
    expect(screen.getByLabelText('Note')).toBeDisabled();
    await user.keyboard('1');
    expect(await screen.findByText('The run is locked: decisions are not accepted.')).toBeInTheDocument();
    expect(searchParams().get('cluster')).toBe('0');
    expect(state.posts).toHaveLength(0);
    // Pathologists see no lock buttons.
    expect(screen.queryByRole('button', { name: 'Unlock' })).not.toBeInTheDocument();
  });

  it('says so when the server refuses a decision because the run was locked meanwhile', async () => {
    const state = serveRun();
    const { user, searchParams } = await openGallery();
    state.run = { ...state.run, locked: true, locked_by: 'ada' };
    await user.keyboard('3');
    const problem = await screen.findByTestId('review-problem');
    expect(problem).toHaveTextContent('The run is locked: your decision on cluster #0 (Immune cells) was not saved.');
    await screen.findByRole('heading', { name: 'Cluster #0' });
    expect(searchParams().get('cluster')).toBe('0');
    expect(rowOf(0)).toHaveTextContent('unreviewed');
    await waitFor(() => expect(categoryButton(/Tumour/)).toBeDisabled());
  });

  it('lets an admin lock the run', async () => {
    const state = serveRun();
    server.use(
      http.post('*/api/cluster-runs/3/lock/', () => {
        state.run = { ...state.run, locked: true, locked_by: 'ada' };
        return HttpResponse.json(state.run);
      }),
    );
    const { user } = await openGallery('/clusters/runs/3', users.admin);
    await user.click(screen.getByRole('button', { name: 'Lock' }));
    expect(await screen.findByRole('button', { name: 'Unlock' })).toBeInTheDocument();
    expect(categoryButton(/Tumour/)).toBeDisabled();
  });

  it('opens a tile in the viewer at its place and finds similar tiles', async () => {
    serveRun();
    server.use(
      http.get('*/api/cluster-runs/3/similar/', ({ request }) => {
        const url = new URL(request.url);
        expect([url.searchParams.get('slide'), url.searchParams.get('index'), url.searchParams.get('k')]).toEqual(['12', '1', '24']);
        return HttpResponse.json({ results: [{ slide: 13, slide_name: 'slide-13.svs', tiling: 5, index: 77, x: 0, y: 512, size: 512, distance: 0.1, url: '/api/slide-tilings/5/tiles/77.jpg', cluster_index: 2 }] });
      }),
    );
    const { user, searchParams } = await openGallery();
    const first = within(screen.getByRole('region', { name: 'Representative tiles' })).getAllByRole('link')[0];
    expect(first).toHaveAttribute('href', '/slides/12?x=512&y=0&size=512');
    await user.keyboard('s');
    const similar = await screen.findByRole('region', { name: 'Similar tiles' });
    await within(similar).findByRole('img');
    await user.click(within(similar).getByRole('button', { name: '#2' }));
    expect(searchParams().get('cluster')).toBe('2');
    // The map: a click on a centroid goes to its cluster.
    await user.click(await screen.findByRole('button', { name: 'Cluster 3' }));
    expect(searchParams().get('cluster')).toBe('3');
  });

  it('filters the list and keeps the keyboard working after choosing a filter', async () => {
    const state = serveRun();
    state.clusters[1] = { ...state.clusters[1], status: 'rejected', reject_reason: 'pen', version: 2 };
    const { user, searchParams } = await openGallery();
    await user.selectOptions(screen.getByLabelText('Filter clusters'), 'rejected');
    expect(screen.getAllByTestId('cluster-row').map((r) => r.dataset.index)).toEqual(['1']);
    await user.keyboard('j');
    expect(searchParams().get('cluster')).toBe('1');
    await user.selectOptions(screen.getByLabelText('Filter clusters'), 'unreviewed');
    expect(screen.getAllByTestId('cluster-row').map((r) => r.dataset.index)).toEqual(['0', '2', '3']);
    await user.keyboard('J');
    expect(searchParams().get('cluster')).toBe('2');
  });

  it('lets an admin settle a disagreement with one reviewer’s vote', async () => {
    const state = serveRun({ run: { review: { total: 4, reviewed: 1, accepted: 1, rejected: 0, merged: 0, disagreements: 1 } } });
    state.clusters[2] = { ...state.clusters[2], status: 'accepted', category: 1, category_name: 'Tumour', category_colour: '#d62728', version: 3 };
    const votes = [
      { user: 'paula', status: 'accepted', category: 1, category_name: 'Tumour', reject_reason: '', weight: null, note: '', updated_at: '2024-06-03T09:00:00Z' },
      { user: 'sam', status: 'accepted', category: 4, category_name: 'Necrosis', reject_reason: '', weight: 0.5, note: 'mostly necrotic', updated_at: '2024-06-03T09:05:00Z' },
    ];
    const bodies: unknown[] = [];
    server.use(
      http.get('*/api/cluster-runs/3/disagreements/', () => HttpResponse.json([{ cluster: state.clusters[2], votes }])),
      http.post('*/api/clusters/:id/settle/', async ({ params, request }) => {
        bodies.push({ id: Number(params.id), body: await request.json() });
        return HttpResponse.json({ ...state.clusters[2], category: 4, category_name: 'Necrosis', category_colour: '#8c564b', weight: 0.5, note: 'mostly necrotic', version: 4 });
      }),
    );
    const { user } = await openGallery('/clusters/runs/3', users.admin);
    await user.click(screen.getByRole('button', { name: 'Disagreements (1)' }));
    const panel = await screen.findByRole('region', { name: 'Disagreements' });
    const row = await within(panel).findByTestId('disagreement-row');
    expect(row).toHaveTextContent('paula Tumour');
    await user.click(within(row).getByRole('button', { name: 'Settle as sam’s' }));
    await waitFor(() => expect(bodies).toHaveLength(1));
    expect(bodies[0]).toEqual({ id: 102, body: { version: 3, status: 'accepted', category: 4, reject_reason: '', weight: 0.5, note: 'mostly necrotic' } });
    await waitFor(() => expect(rowOf(2)).toHaveTextContent('Necrosis'));
  });

  it('merges the current cluster into another one chosen by index', async () => {
    const state = serveRun();
    const bodies: unknown[] = [];
    server.use(
      http.post('*/api/cluster-runs/3/merge/', async ({ request }) => {
        bodies.push(await request.json());
        const merged = { ...state.clusters[0], status: 'merged', merged_into: 102, version: 2 };
        state.clusters[0] = merged;
        return HttpResponse.json([merged, state.clusters[2]]);
      }),
    );
    const { user, searchParams } = await openGallery();
    await user.keyboard('m');
    const dialog = screen.getByRole('dialog', { name: 'Merge cluster #0' });
    await user.type(within(dialog).getByLabelText('Target cluster index'), '2');
    await user.click(within(dialog).getByRole('button', { name: 'Merge into #2' }));
    await waitFor(() => expect(screen.queryByRole('dialog')).not.toBeInTheDocument());
    expect(bodies).toEqual([{ target: 102, clusters: [100] }]);
    expect(rowOf(0)).toHaveTextContent('→ #2');
    expect(searchParams().get('cluster')).toBe('1');
  });
});
