import { screen, waitFor, within } from '@testing-library/react';
import { http, HttpResponse } from 'msw';
import { makeClusterRun, page, users } from '@/testing/fixtures';
import { renderApp } from '@/testing/render-app';
import { server } from '@/testing/server';

describe('clusters page', () => {
  it('launches a run and shows the server’s field errors next to the fields', async () => {
    const bodies: Array<Record<string, unknown>> = [];
    server.use(
      http.post('*/api/cluster-runs/', async ({ request }) => {
        bodies.push((await request.json()) as Record<string, unknown>);
        return HttpResponse.json(
          {
            detail: 'Ensure this value is greater than or equal to 2.',
            code: 'invalid',
            fields: { k: ['Ensure this value is greater than or equal to 2.'], embedding_model: { name: ['This field may not be blank.'] }, levels: { '0': ['A valid integer is required.'] } },
          },
          { status: 400 },
        );
      }),
    );
    const { user } = renderApp('/clusters', { as: users.admin });
    const form = await screen.findByRole('form', { name: 'New cluster run' });
    await user.type(within(form).getByLabelText('Name'), 'DINO k=1');
    await user.selectOptions(within(form).getByLabelText('Tiling configuration'), await within(form).findByRole('option', { name: '256px @ 0.5 #1' }));
    await user.click(within(form).getByLabelText('Deep embeddings'));
    await user.clear(within(form).getByLabelText(/timm model name/));
    await user.type(within(form).getByLabelText(/Local weights path/), '/models/dino.safetensors');
    await user.type(within(form).getByLabelText(/Image size/), '224');
    await user.clear(within(form).getByLabelText('k (clusters)'));
    await user.type(within(form).getByLabelText('k (clusters)'), '1');
    await user.selectOptions(within(form).getByLabelText('Method'), 'hierarchical');
    await user.type(within(form).getByLabelText('Levels'), '10000, 1000');
    await user.click(within(form).getByLabelText('Slide ids'));
    await user.type(within(form).getByRole('textbox', { name: 'Slide ids' }), '12, 15 18');
    // An empty model name is the server's to refuse, not the browser's.
    within(form).getByLabelText(/timm model name/).removeAttribute('required');
    await user.click(within(form).getByRole('button', { name: 'Start cluster run' }));

    const kLabel = within(form).getByLabelText('k (clusters)').closest('.field-stack') as HTMLElement;
    expect(await within(kLabel).findByText('Ensure this value is greater than or equal to 2.')).toBeInTheDocument();
    expect(within(form).getByLabelText('k (clusters)')).toHaveAttribute('aria-invalid', 'true');
    const modelLabel = within(form).getByLabelText(/timm model name/).closest('.field-stack') as HTMLElement;
    expect(within(modelLabel).getByText('This field may not be blank.')).toBeInTheDocument();
    const levelsLabel = within(form).getByLabelText('Levels').closest('.field-stack') as HTMLElement;
    expect(levelsLabel).toHaveTextContent('A valid integer is required.');
    expect(within(form).getByText('The server refused the run: see the marked fields.')).toBeInTheDocument();
    expect(bodies).toEqual([
      {
        name: 'DINO k=1',
        config: 1,
        feature_kind: 'embedding',
        embedding_model: { name: '', weights: '/models/dino.safetensors', image_size: 224 },
        k: 1,
        per_slide: 500,
        iterations: 25,
        restarts: 1,
        spherical: false,
        method: 'hierarchical',
        levels: [10000, 1000],
        seed: 0,
        slides: [12, 15, 18],
        group: null,
      },
    ]);
  });

  it('sends the defaults for every tiled slide and links to the new run', async () => {
    const bodies: Array<Record<string, unknown>> = [];
    server.use(
      http.post('*/api/cluster-runs/', async ({ request }) => {
        bodies.push((await request.json()) as Record<string, unknown>);
        return HttpResponse.json(makeClusterRun(9, { status: 'queued', phase: '' }), { status: 202 });
      }),
    );
    const { user } = renderApp('/clusters', { as: users.admin });
    const form = await screen.findByRole('form', { name: 'New cluster run' });
    await user.type(within(form).getByLabelText('Name'), 'Colour');
    await user.selectOptions(within(form).getByLabelText('Tiling configuration'), await within(form).findByRole('option', { name: '256px @ 0.5 #1' }));
    await user.click(within(form).getByRole('button', { name: 'Start cluster run' }));
    const status = await within(form).findByRole('status');
    expect(within(status).getByRole('link', { name: '#9' })).toHaveAttribute('href', '/clusters/runs/9');
    expect(bodies[0]).toMatchObject({ feature_kind: 'colour', embedding_model: null, k: 100, per_slide: 500, iterations: 25, restarts: 1, method: 'flat', levels: [], slides: [], group: null });
  });

  it('lists runs with phase progress, polls a running one, and offers cancel and resume to admins', async () => {
    let polls = 0;
    const actions: string[] = [];
    server.use(
      http.get('*/api/cluster-runs/', () => {
        polls += 1;
        return HttpResponse.json(
          page([
            makeClusterRun(4, { status: 'interrupted', phase: 'assigning', progress_done: 1, progress_total: 3 }),
            polls < 2
              ? makeClusterRun(5, { status: 'running', phase: 'training', progress_done: 10, progress_total: 25, message: 'iteration 10 of 25', review: { total: 0, reviewed: 0, accepted: 0, rejected: 0, merged: 0, disagreements: 0 } })
              : makeClusterRun(5, { status: 'succeeded', phase: 'done', progress_done: 25, progress_total: 25, review: { total: 4, reviewed: 1, accepted: 1, rejected: 0, merged: 0, disagreements: 0 } }),
          ]),
        );
      }),
      http.post('*/api/cluster-runs/:id/:action/', ({ params }) => {
        actions.push(`${params.id} ${params.action}`);
        return HttpResponse.json(makeClusterRun(Number(params.id), { status: 'queued' }));
      }),
    );
    const { user } = renderApp('/clusters', { as: users.admin });
    const rows = await screen.findAllByTestId('cluster-run-row');
    expect(rows.map((r) => within(r).getAllByRole('link')[0].textContent)).toEqual(['#5 Colour k=4 #5', '#4 Colour k=4 #4']);
    expect(within(rows[0]).getByTestId('cluster-run-progress-5')).toHaveTextContent('training10/25 (40%)iteration 10 of 25');
    expect(within(rows[0]).getAllByRole('link')[0]).toHaveAttribute('href', '/clusters/runs/5');
    await waitFor(() => expect(screen.getByTestId('cluster-run-progress-5')).toHaveTextContent('done25/25 (100%)'), { timeout: 5000 });
    expect(screen.getAllByTestId('cluster-run-row')[0]).toHaveTextContent('1/4 (25%)');

    await user.click(within(screen.getAllByTestId('cluster-run-row')[1]).getByRole('button', { name: 'Resume' }));
    await waitFor(() => expect(actions).toEqual(['4 resume']));
  }, 10_000);

  it('hides the launch form and the run buttons from pathologists', async () => {
    server.use(http.get('*/api/cluster-runs/', () => HttpResponse.json(page([makeClusterRun(6, { status: 'running' })]))));
    renderApp('/clusters', { as: users.pathologist });
    const row = await screen.findByTestId('cluster-run-row');
    expect(within(row).queryByRole('button', { name: 'Cancel' })).not.toBeInTheDocument();
    expect(screen.queryByRole('form', { name: 'New cluster run' })).not.toBeInTheDocument();
    expect(screen.getByRole('link', { name: 'Semantic categories' })).toHaveAttribute('href', '/clusters/categories');
  });
});
