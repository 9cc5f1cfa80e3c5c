import { screen, waitFor, within } from '@testing-library/react';
import { http, HttpResponse } from 'msw';
import { makeDataset, page, users } from '@/testing/fixtures';
import { renderApp } from '@/testing/render-app';
import { server } from '@/testing/server';
import { makeMetrics, makePreset, makeTrainingRun } from './fixtures';

vi.mock('../components/metrics-chart', () => ({
  MetricsChart: ({ title, x }: { title: string; x: number[] }) => <div data-testid="chart">{`${title}: ${x.length} points`}</div>,
}));

function useFormServer() {
  const bodies: Array<Record<string, unknown>> = [];
  server.use(
    http.get('*/api/training/runs/', () => HttpResponse.json(page([]))),
    http.get('*/api/training/presets/', () => HttpResponse.json([makePreset('cpu_smoke'), makePreset('vit_s_single_gpu')])),
    http.get('*/api/datasets/', () =>
      HttpResponse.json(page([makeDataset(4, { status: 'built' }), makeDataset(5, { status: 'draft' }), makeDataset(6, { status: 'building' })])),
    ),
  );
  return bodies;
}

describe('training runs page', () => {
  it('lists runs with their progress and polls while one is running', async () => {
    let polls = 0;
    server.use(
      http.get('*/api/training/runs/', () => {
        polls += 1;
        return HttpResponse.json(
          page([
            makeTrainingRun(2, { status: 'failed', step: 3, error: 'CUDA out of memory', images_per_s: null, can_cancel: false }),
            polls < 2
              ? makeTrainingRun(3, { step: 12, total_steps: 40, images_per_s: 18.4 })
              : makeTrainingRun(3, { status: 'succeeded', step: 40, total_steps: 40, images_per_s: 21.04, can_cancel: false }),
          ]),
        );
      }),
    );
    renderApp('/training', { as: users.viewer });
    const rows = await screen.findAllByTestId('training-run-row');
    expect(rows.map((r) => within(r).getAllByRole('link')[0].textContent)).toEqual(['#3 smoke #3', '#2 smoke #2']);
    expect(within(rows[0]).getAllByRole('link')[0]).toHaveAttribute('href', '/training/runs/3');
    expect(within(rows[0]).getByRole('link', { name: 'colon H&E v4' })).toHaveAttribute('href', '/datasets/4');
    expect(within(rows[0]).getByTestId('training-progress-3')).toHaveTextContent('12/40 (30%)');
    expect(within(rows[0]).getByTestId('training-status')).toHaveTextContent('running');
    expect(within(rows[0]).getByTestId('row-images-per-s')).toHaveTextContent('18.4');
    expect(rows[1]).toHaveTextContent('CUDA out of memory');
    await waitFor(() => expect(screen.getByTestId('training-progress-3')).toHaveTextContent('40/40 (100%)'), { timeout: 5000 });
    expect(screen.getAllByTestId('training-run-row')[0]).toHaveTextContent('succeeded');
    expect(screen.getAllByTestId('training-run-row')[0]).toHaveTextContent('21.0');
    // Nothing is running any more: no further polls.
    const seen = polls;
    await new Promise((r) => setTimeout(r, 2500));
    expect(polls).toBe(seen);
    expect(screen.queryByRole('button', { name: 'New training run' })).not.toBeInTheDocument();
  }, 12_000);

  it('launches a run with a preset and overrides, showing the server’s field errors', async () => {
    const bodies = useFormServer();
    let refuse = true;
    server.use(
      http.post('*/api/training/runs/', async ({ request }) => {
        bodies.push((await request.json()) as Record<string, unknown>);
        if (refuse) {
          return HttpResponse.json(
            { detail: 'Invalid input.', code: 'invalid', fields: { overrides: { batch_size: ['Ensure this value is greater than or equal to 1.'] } } },
            { status: 400 },
          );
        }
        return HttpResponse.json(makeTrainingRun(7, { status: 'queued', step: 0 }), { status: 201 });
      }),
      http.get('*/api/training/runs/7/', () => HttpResponse.json(makeTrainingRun(7, { status: 'queued', step: 0 }))),
      http.get('*/api/training/runs/7/metrics/', () => HttpResponse.json(makeMetrics(0))),
    );
    const { user, location } = renderApp('/training', { as: users.admin });
    await user.click(await screen.findByRole('button', { name: 'New training run' }));
    const form = await screen.findByRole('form', { name: 'New training run' });
    await user.type(within(form).getByLabelText('Name'), 'smoke');
    const versions = within(form).getByLabelText('Dataset version');
    await within(form).findByRole('option', { name: /colon H&E v4/ });
    // Only built versions can be trained on.
    expect(within(versions).getAllByRole('option').map((o) => o.textContent)).toEqual(['Choose a built version…', '#4 colon H&E v4 (1,000 tiles)']);
    await user.selectOptions(versions, '4');
    await user.selectOptions(within(form).getByLabelText('Preset'), await within(form).findByRole('option', { name: 'cpu_smoke' }));
    const summary = within(form).getByTestId('preset-summary');
    expect(summary).toHaveTextContent('A tiny ViT on 32/16 px crops');
    expect(within(summary).getByTestId('preset-batch_size')).toHaveTextContent('4');
    expect(within(summary).getByTestId('preset-lr')).toHaveTextContent('0.0005');
    // The model follows the preset until it is edited.
    expect(within(form).getByLabelText('Model (timm name)')).toHaveValue('vit_tiny_patch16_224');
    expect(within(form).getByLabelText('Total steps')).toHaveAttribute('placeholder', '20');
    await user.type(within(form).getByLabelText('Total steps'), '40');
    await user.type(within(form).getByLabelText('Batch size'), '0');
    await user.type(within(form).getByLabelText('Checkpoint every'), '5');
    await user.click(within(form).getByRole('button', { name: 'Start training' }));

    const batch = within(form).getByLabelText('Batch size').closest('.field-stack') as HTMLElement;
    expect(await within(batch).findByText('Ensure this value is greater than or equal to 1.')).toBeInTheDocument();
    expect(within(form).getByLabelText('Batch size')).toHaveAttribute('aria-invalid', 'true');
    expect(within(form).getByText('The server refused the run: see the marked fields.')).toBeInTheDocument();
    expect(bodies).toEqual([
      { name: 'smoke', dataset_version: 4, preset: 'cpu_smoke', model: 'vit_tiny_patch16_224', overrides: { total_steps: 40, batch_size: 0, checkpoint_every: 5 } },
    ]);

    refuse = false;
    await user.clear(within(form).getByLabelText('Batch size'));
    await user.type(within(form).getByLabelText('Batch size'), '4');
    await user.type(within(form).getByLabelText('Initial weights path'), '/models/w.safetensors');
    await user.type(within(form).getByLabelText('Evaluation folder'), '/data/eval');
    await user.click(within(form).getByRole('button', { name: 'Start training' }));
    await waitFor(() => expect(location().pathname).toBe('/training/runs/7'));
    expect(bodies[1]).toEqual({
      name: 'smoke',
      dataset_version: 4,
      preset: 'cpu_smoke',
      model: 'vit_tiny_patch16_224',
      weights: '/models/w.safetensors',
      overrides: { total_steps: 40, batch_size: 4, checkpoint_every: 5 },
      eval_folder: '/data/eval',
    });
    expect(await screen.findByRole('heading', { name: /smoke #7/ })).toBeInTheDocument();
  });

  it('shows a general error for a field the form does not have', async () => {
    useFormServer();
    server.use(
      http.post('*/api/training/runs/', () =>
        HttpResponse.json({ detail: 'unknown recipe fields: [\'bogus\']', code: 'invalid', fields: { recipe: ["unknown recipe fields: ['bogus']"] } }, { status: 400 }),
      ),
    );
    const { user } = renderApp('/training', { as: users.admin });
    await user.click(await screen.findByRole('button', { name: 'New training run' }));
    const form = await screen.findByRole('form', { name: 'New training run' });
    await user.type(within(form).getByLabelText('Name'), 'x');
    await user.selectOptions(within(form).getByLabelText('Dataset version'), await within(form).findByRole('option', { name: /colon H&E v4/ }));
    await user.selectOptions(within(form).getByLabelText('Preset'), await within(form).findByRole('option', { name: 'vit_s_single_gpu' }));
    await user.clear(within(form).getByLabelText('Model (timm name)'));
    await user.type(within(form).getByLabelText('Model (timm name)'), 'vit_base_patch14_reg4_dinov2');
    await user.click(within(form).getByRole('button', { name: 'Start training' }));
    expect(await within(form).findByTestId('error-message')).toHaveTextContent("unknown recipe fields: ['bogus']");
  });
});
