import { screen, waitFor, within } from '@testing-library/react';
import { http, HttpResponse } from 'msw';
import { users } from '@/testing/fixtures';
import { renderApp } from '@/testing/render-app';
import { server } from '@/testing/server';
import { makeMetrics, makeTrainingRun } from './fixtures';

vi.mock('../components/metrics-chart', () => ({
  MetricsChart: ({ title, x, series }: { title: string; x: number[]; series: Array<{ label: string }> }) => (
    <div data-testid="chart">{`${title}: ${series.map((s) => s.label).join(', ')}; ${x.length} points`}</div>
  ),
}));

function useRunServer(initial: ReturnType<typeof makeTrainingRun>) {
  let current = initial;
  const actions: string[] = [];
  const metricsAsked: string[] = [];
  server.use(
    http.get('*/api/training/runs/:id/', () => HttpResponse.json(current)),
    http.get('*/api/training/runs/:id/metrics/', ({ request }) => {
      metricsAsked.push(new URL(request.url).search);
      return HttpResponse.json(makeMetrics(current.step, [[10, 0.625, 0.7]]));
    }),
    http.post('*/api/training/runs/:id/:action/', ({ params }) => {
      actions.push(`${params.id} ${params.action}`);
      if (params.action === 'cancel') current = { ...current, cancel_requested: true };
      else current = { ...current, status: 'queued', can_resume: false, can_cancel: true, error: '' };
      return HttpResponse.json(current, { status: 202 });
    }),
  );
  return {
    actions,
    metricsAsked,
    set: (next: ReturnType<typeof makeTrainingRun>) => {
      current = next;
    },
  };
}

describe('training run page', () => {
  it('shows the summary, the curves and the evaluations, and polls while running', async () => {
    const state = useRunServer(makeTrainingRun(3));
    renderApp('/training/runs/3', { as: users.viewer });
    const summary = await screen.findByTestId('training-summary');
    expect(within(summary).getByTestId('summary-step')).toHaveTextContent('12 / 40');
    expect(within(summary).getByTestId('summary-eta')).toHaveTextContent('1 min 35 s');
    expect(within(summary).getByTestId('summary-device')).toHaveTextContent('cpu');
    expect(within(summary).getByTestId('summary-images-per-s')).toHaveTextContent('18.4');
    expect(within(summary).getByTestId('summary-gpu-mem')).toHaveTextContent('—');
    expect(within(summary).getByTestId('summary-loss')).toHaveTextContent('10.52');
    expect(within(summary).getByTestId('summary-losses')).toHaveTextContent('4.12 / 6.31 / -0.42');
    expect(within(summary).getByTestId('summary-lr')).toHaveTextContent('0.00045');
    expect(within(summary).getByTestId('summary-knn')).toHaveTextContent('62.5%');
    expect(within(summary).getByTestId('summary-linear-probe')).toHaveTextContent('70.0%');
    expect(screen.getByTestId('training-progress-3')).toHaveTextContent('12/40 (30%)');
    expect(screen.getByRole('link', { name: /colon H&E v4/ })).toHaveAttribute('href', '/datasets/4');

    const charts = await screen.findAllByTestId('chart');
    expect(charts.map((c) => c.textContent)).toEqual([
      'Losses: total, DINO, iBOT, KoLeo; 12 points',
      'Learning rate and weight decay: learning rate, weight decay; 12 points',
      'Throughput: images/s; 12 points',
      'Evaluation: kNN, linear probe; 1 points',
    ]);
    const evalRows = within(screen.getByRole('table', { name: 'Evaluations' })).getAllByTestId('eval-row');
    expect(evalRows.map((r) => r.textContent)).toEqual(['1062.5%70.0%']);
    expect(state.metricsAsked[0]).toBe('?max_points=500');

    // Viewers read only: no buttons.
    expect(screen.queryByRole('button', { name: 'Cancel' })).not.toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Resume' })).not.toBeInTheDocument();

    state.set(makeTrainingRun(3, { step: 20, last_metrics: { loss: 9.87 } }));
    await waitFor(() => expect(screen.getByTestId('summary-step')).toHaveTextContent('20 / 40'), { timeout: 5000 });
    expect(screen.getByTestId('summary-loss')).toHaveTextContent('9.87');
    await waitFor(() => expect(screen.getAllByTestId('chart')[0]).toHaveTextContent('20 points'), { timeout: 5000 });
  }, 12_000);

  it('lets an admin cancel after confirming, then shows that it stops at the next step', async () => {
    const state = useRunServer(makeTrainingRun(3));
    const { user } = renderApp('/training/runs/3', { as: users.admin });
    await user.click(await screen.findByRole('button', { name: 'Cancel' }));
    expect(state.actions).toEqual([]);
    await user.click(screen.getByRole('button', { name: 'Really cancel' }));
    await waitFor(() => expect(state.actions).toEqual(['3 cancel']));
    expect(await screen.findByTestId('cancel-requested')).toHaveTextContent('stopping at next step');
    expect(screen.queryByRole('button', { name: 'Cancel' })).not.toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Resume' })).not.toBeInTheDocument();
  });

  it('offers resume and the backbone for a cancelled run, and shows its error', async () => {
    const state = useRunServer(
      makeTrainingRun(5, {
        status: 'cancelled',
        can_cancel: false,
        can_resume: true,
        error: 'Stopped by ada.',
        backbone: { available: true, url: '/api/training/runs/5/backbone/', card_url: '/api/training/runs/5/backbone/card/' },
      }),
    );
    const { user } = renderApp('/training/runs/5', { as: users.admin });
    expect(await screen.findByTestId('run-error')).toHaveTextContent('Stopped by ada.');
    expect(screen.getByRole('link', { name: 'Download backbone' })).toHaveAttribute('href', '/api/training/runs/5/backbone/');
    expect(screen.getByRole('link', { name: 'Model card' })).toHaveAttribute('href', '/api/training/runs/5/backbone/card/');
    expect(screen.getByTestId('summary-eta')).toHaveTextContent('—');
    expect(screen.queryByRole('button', { name: 'Cancel' })).not.toBeInTheDocument();
    await user.click(screen.getByRole('button', { name: 'Resume' }));
    await waitFor(() => expect(state.actions).toEqual(['5 resume']));
    await waitFor(() => expect(screen.getByTestId('training-status')).toHaveTextContent('queued'));
    expect(screen.queryByRole('button', { name: 'Resume' })).not.toBeInTheDocument();
  });

  it('shows pathologists the backbone link but no buttons', async () => {
    useRunServer(
      makeTrainingRun(5, {
        status: 'cancelled',
        can_cancel: false,
        can_resume: true,
        backbone: { available: true, url: '/api/training/runs/5/backbone/', card_url: '/api/training/runs/5/backbone/card/' },
      }),
    );
    renderApp('/training/runs/5', { as: users.pathologist });
    expect(await screen.findByTestId('training-summary')).toBeInTheDocument();
    expect(screen.getByRole('link', { name: 'Download backbone' })).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Resume' })).not.toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Cancel' })).not.toBeInTheDocument();
  });

  it('says so when the run does not exist', async () => {
    server.use(http.get('*/api/training/runs/:id/', () => HttpResponse.json({ detail: 'Not found.', code: 'not_found' }, { status: 404 })));
    server.use(http.get('*/api/training/runs/:id/metrics/', () => HttpResponse.json({ detail: 'Not found.', code: 'not_found' }, { status: 404 })));
    renderApp('/training/runs/99', { as: users.admin });
    expect(await screen.findByRole('heading', { name: 'Training run not found' })).toBeInTheDocument();
  });
});
