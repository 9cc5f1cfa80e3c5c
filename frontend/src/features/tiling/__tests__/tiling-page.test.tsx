import { screen, waitFor, within } from '@testing-library/react';
import { http, HttpResponse } from 'msw';
import { makeTilingRun, page, users } from '@/testing/fixtures';
import { renderApp } from '@/testing/render-app';
import { server } from '@/testing/server';

describe('tiling page', () => {
  it('creates a configuration with the right body and shows the server 400', async () => {
    const bodies: unknown[] = [];
    server.use(
      http.post('*/api/tiling-configs/', async ({ request }) => {
        bodies.push(await request.json());
        return HttpResponse.json(
          { detail: 'Bad tiling parameters.', code: 'invalid', fields: { stride: ['Stride must not exceed the tile size.'] } },
          { status: 400 },
        );
      }),
    );
    const { user } = renderApp('/tiling', { as: users.admin });
    const form = await screen.findByRole('form', { name: 'New tiling configuration' });
    await user.type(within(form).getByLabelText('Name'), 'big tiles');
    await user.type(within(form).getByLabelText('Description'), 'for MIL');
    await user.clear(within(form).getByLabelText('Tile size (px)'));
    await user.type(within(form).getByLabelText('Tile size (px)'), '512');
    await user.clear(within(form).getByLabelText('Target µm/px'));
    await user.type(within(form).getByLabelText('Target µm/px'), '0.25');
    await user.type(within(form).getByLabelText('Stride (px, optional)'), '1024');
    await user.clear(within(form).getByLabelText('Min tissue fraction'));
    await user.type(within(form).getByLabelText('Min tissue fraction'), '0.7');
    await user.click(within(form).getByLabelText('Colour features'));
    await user.click(within(form).getByRole('button', { name: 'Create configuration' }));

    expect(await within(form).findByRole('alert')).toHaveTextContent('Bad tiling parameters. stride: Stride must not exceed the tile size.');
    expect(bodies).toEqual([
      {
        name: 'big tiles',
        description: 'for MIL',
        params: { tile_size: 512, target_mpp: 0.25, stride: 1024, min_tissue_fraction: 0.7, features: false },
      },
    ]);
  });

  it('sends a null stride when it is left empty', async () => {
    const bodies: Array<{ params: { stride: unknown } }> = [];
    server.use(
      http.post('*/api/tiling-configs/', async ({ request }) => {
        const body = (await request.json()) as { name: string; params: { stride: unknown } };
        bodies.push(body);
        return HttpResponse.json({ id: 9, name: body.name, description: '', params: body.params, key: 'k', created_at: null }, { status: 201 });
      }),
    );
    const { user } = renderApp('/tiling', { as: users.admin });
    const form = await screen.findByRole('form', { name: 'New tiling configuration' });
    await user.type(within(form).getByLabelText('Name'), 'defaults');
    await user.click(within(form).getByRole('button', { name: 'Create configuration' }));
    expect(await within(form).findByText('Configuration “defaults” created.')).toBeInTheDocument();
    expect(bodies[0].params.stride).toBeNull();
  });

  it('lists runs newest first and polls a running one until it ends', async () => {
    let polls = 0;
    server.use(
      http.get('*/api/tiling-runs/', () => {
        polls += 1;
        const running = polls < 3;
        return HttpResponse.json(
          page([
            makeTilingRun(3, { status: 'succeeded', total: 2, done: 2, failed: 0 }),
            running
              ? makeTilingRun(7, { status: 'running', total: 10, done: 3, skipped: 1, failed: 1, tile_count: 500, finished_at: null })
              : makeTilingRun(7, { status: 'partial', total: 10, done: 8, skipped: 1, failed: 1, tile_count: 900 }),
          ]),
        );
      }),
    );
    renderApp('/tiling', { as: users.viewer });
    const rows = await screen.findAllByTestId('run-row');
    expect(rows.map((r) => within(r).getAllByRole('link')[0].textContent)).toEqual(['#7', '#3']);
    expect(within(rows[0]).getByTestId('run-progress-7')).toHaveTextContent('5/10 (50%)');
    expect(within(rows[0]).getByRole('progressbar', { name: 'Run 7 progress' })).toHaveAttribute('value', '5');
    expect(rows[0]).toHaveTextContent('running');

    await waitFor(() => expect(screen.getByTestId('run-progress-7')).toHaveTextContent('10/10 (100%)'), { timeout: 6000 });
    expect(screen.getAllByTestId('run-row')[0]).toHaveTextContent('partial');
    const settled = polls;
    await new Promise((r) => setTimeout(r, 2500));
    expect(polls).toBe(settled);
  }, 15_000);

  it('hides the create and launch controls from non-admins', async () => {
    renderApp('/tiling', { as: users.pathologist });
    expect(await screen.findAllByTestId('config-row')).toHaveLength(1);
    expect(screen.queryByRole('form', { name: 'New tiling configuration' })).not.toBeInTheDocument();
    expect(screen.queryByRole('form', { name: 'New tiling run' })).not.toBeInTheDocument();
  });

  it('launches a run over a group and links to it', async () => {
    const bodies: unknown[] = [];
    server.use(
      http.post('*/api/tiling-runs/', async ({ request }) => {
        bodies.push(await request.json());
        return HttpResponse.json(makeTilingRun(12, { status: 'queued', total: 2, done: 0, failed: 0 }), { status: 202 });
      }),
    );
    const { user } = renderApp('/tiling', { as: users.admin });
    const form = await screen.findByRole('form', { name: 'New tiling run' });
    await user.selectOptions(within(form).getByLabelText('Tiling configuration'), '256px @ 0.5 #1');
    await user.click(within(form).getByLabelText('A group'));
    await user.selectOptions(await within(form).findByLabelText('Group'), await within(form).findByRole('option', { name: /Hand-picked/ }));
    await user.click(within(form).getByRole('button', { name: 'Start run' }));
    const status = await within(form).findByRole('status');
    expect(within(status).getByRole('link', { name: '#12' })).toHaveAttribute('href', '/tiling/runs/12');
    expect(bodies).toEqual([{ config: 1, group: 2 }]);
  });

  it('launches a run over all untiled slides', async () => {
    const bodies: unknown[] = [];
    server.use(
      http.post('*/api/tiling-runs/', async ({ request }) => {
        bodies.push(await request.json());
        return HttpResponse.json(makeTilingRun(13, { status: 'queued' }), { status: 202 });
      }),
    );
    const { user } = renderApp('/tiling', { as: users.admin });
    const form = await screen.findByRole('form', { name: 'New tiling run' });
    await user.selectOptions(within(form).getByLabelText('Tiling configuration'), '256px @ 0.5 #1');
    await user.click(within(form).getByRole('button', { name: 'Start run' }));
    await within(form).findByRole('status');
    expect(bodies).toEqual([{ config: 1, untiled: true }]);
  });
});
