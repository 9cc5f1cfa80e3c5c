import { screen, waitFor, within } from '@testing-library/react';
import { http, HttpResponse } from 'msw';
import { makeClusterRun, page, users } from '@/testing/fixtures';
import { renderApp } from '@/testing/render-app';
import { server } from '@/testing/server';

function trainingRun(id: number, status: string, available: boolean) {
  return {
    id,
    name: `smoke #${id}`,
    status,
    model: 'vit_tiny_patch16_224',
    step: 40,
    backbone: { available, url: `/api/training/runs/${id}/backbone/`, card_url: `/api/training/runs/${id}/backbone/card/` },
  };
}

describe('cluster run on a training run’s backbone', () => {
  it('lists only runs with an exported backbone and sends the training run instead of a model', async () => {
    const bodies: Array<Record<string, unknown>> = [];
    server.use(
      http.get('*/api/training/runs/', () =>
        HttpResponse.json(page([trainingRun(2, 'succeeded', true), trainingRun(3, 'running', false), trainingRun(4, 'cancelled', true), trainingRun(5, 'failed', false)])),
      ),
      http.post('*/api/cluster-runs/', async ({ request }) => {
        bodies.push((await request.json()) as Record<string, unknown>);
        return HttpResponse.json(makeClusterRun(9, { status: 'queued', feature_kind: 'embedding', embedding_model: { name: 'vit_tiny_patch16_224', weights: '/data/training/4/backbone.safetensors', image_size: 32 } }), {
          status: 202,
        });
      }),
    );
    const { user } = renderApp('/clusters', { as: users.admin });
    const form = await screen.findByRole('form', { name: 'New cluster run' });
    await user.type(within(form).getByLabelText('Name'), 'own backbone');
    await user.selectOptions(within(form).getByLabelText('Tiling configuration'), await within(form).findByRole('option', { name: '256px @ 0.5 #1' }));
    await user.click(within(form).getByLabelText('Deep embeddings'));
    // A timm model stays the default.
    expect(within(form).getByLabelText(/timm model name/)).toBeInTheDocument();
    await user.click(within(form).getByLabelText('Backbone from a training run'));
    expect(within(form).queryByLabelText(/timm model name/)).not.toBeInTheDocument();
    const select = within(form).getByLabelText('Training run');
    await within(select).findByRole('option', { name: /#4 smoke #4/ });
    expect(within(select).getAllByRole('option').map((o) => o.textContent)).toEqual([
      'Choose a run with an exported backbone…',
      '#4 smoke #4 (vit_tiny_patch16_224, step 40, cancelled)',
      '#2 smoke #2 (vit_tiny_patch16_224, step 40, succeeded)',
    ]);
    await user.selectOptions(select, '4');
    await user.click(within(form).getByRole('button', { name: 'Start cluster run' }));
    await waitFor(() => expect(bodies).toHaveLength(1));
    expect(bodies[0]).toMatchObject({ name: 'own backbone', config: 1, feature_kind: 'embedding', embedding_model: { training_run: 4 } });
    expect(Object.keys(bodies[0].embedding_model as object)).toEqual(['training_run']);
    expect(await within(form).findByRole('link', { name: '#9' })).toHaveAttribute('href', '/clusters/runs/9');
  });

  it('shows the server’s refusal of a run without a backbone', async () => {
    server.use(
      http.get('*/api/training/runs/', () => HttpResponse.json(page([trainingRun(2, 'succeeded', true)]))),
      http.post('*/api/cluster-runs/', () =>
        HttpResponse.json({ detail: 'Invalid input.', code: 'invalid', fields: { embedding_model: { training_run: ['Training run 2 has no exported backbone.'] } } }, { status: 400 }),
      ),
    );
    const { user } = renderApp('/clusters', { as: users.admin });
    const form = await screen.findByRole('form', { name: 'New cluster run' });
    await user.type(within(form).getByLabelText('Name'), 'own backbone');
    await user.selectOptions(within(form).getByLabelText('Tiling configuration'), await within(form).findByRole('option', { name: '256px @ 0.5 #1' }));
    await user.click(within(form).getByLabelText('Deep embeddings'));
    await user.click(within(form).getByLabelText('Backbone from a training run'));
    await user.selectOptions(within(form).getByLabelText('Training run'), await within(form).findByRole('option', { name: /#2 smoke #2/ }));
    await user.click(within(form).getByRole('button', { name: 'Start cluster run' }));
    const field = within(form).getByLabelText('Training run').closest('.field-stack') as HTMLElement;
    expect(await within(field).findByText('Training run 2 has no exported backbone.')).toBeInTheDocument();
  });
});
