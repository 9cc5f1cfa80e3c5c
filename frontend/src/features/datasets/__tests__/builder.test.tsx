import { screen, waitFor, within } from '@testing-library/react';
import { http, HttpResponse } from 'msw';
import { makeClusterRun, makeDataset, page, users } from '@/testing/fixtures';
import { renderApp } from '@/testing/render-app';
import { server } from '@/testing/server';

type Body = { recipe: { categories: Array<{ category: number; weight: number | null }>; include_unreviewed: boolean; groups: Array<{ group: number; weight: number }> } };

/** Estimates that follow the Tumour weight, so a changed weight shows in the chart. */
function estimate(body: Body) {
  const tumour = body.recipe.categories.find((c) => c.category === 1)?.weight ?? 1;
  const tumourTiles = Math.round(1000 * (tumour / (tumour + 1)));
  return {
    estimated_total: 1000,
    eligible_total: 5000,
    shortfall: 0,
    unreviewed_clusters: 2,
    cells: [
      { group: 'H&E slides', category: 'Tumour', eligible: 3000, estimated: tumourTiles },
      { group: 'H&E slides', category: 'Stroma', eligible: 2000, estimated: 1000 - tumourTiles },
    ],
    notes: ['Estimates come from the run’s composition, before the quality filters.'],
  };
}

function useDatasetServer(dataset: ReturnType<typeof makeDataset>) {
  const previews: Body[] = [];
  const patches: Array<Record<string, unknown>> = [];
  const builds: number[] = [];
  let current = dataset;
  server.use(
    http.get('*/api/cluster-runs/', () => HttpResponse.json(page([makeClusterRun(3, { review: { total: 4, reviewed: 2, accepted: 2, rejected: 0, merged: 0, disagreements: 0 } })]))),
    http.get('*/api/datasets/:id/', () => HttpResponse.json(current)),
    http.patch('*/api/datasets/:id/', async ({ request }) => {
      const body = (await request.json()) as Record<string, unknown>;
      patches.push(body);
      current = { ...current, ...body } as typeof current;
      return HttpResponse.json(current);
    }),
    http.post('*/api/datasets/:id/preview/', async ({ request }) => {
      const body = (await request.json()) as Body;
      previews.push(body);
      return HttpResponse.json(estimate(body));
    }),
  );
  return {
    previews,
    patches,
    builds,
    setCurrent: (next: typeof current) => {
      current = next;
    },
    current: () => current,
  };
}

describe('dataset builder', () => {
  it('asks for a new estimate once, after typing stops, when a weight changes', async () => {
    const state = useDatasetServer(makeDataset(4));
    const { user } = renderApp('/datasets/4', { as: users.pathologist });
    const preview = await screen.findByRole('region', { name: 'Preview' });
    // The stored recipe: Tumour at its default weight (null → 1), Stroma at 1.
    await waitFor(() => expect(within(preview).getByTestId('preview-estimated')).toHaveTextContent('1,000'));
    const tumourCell = () => within(preview).getAllByTestId('matrix-cell').find((c) => c.dataset.category === 'Tumour') as HTMLElement;
    expect(tumourCell()).toHaveTextContent('500of 3,000 eligible');
    expect(state.previews).toHaveLength(1);
    expect(state.previews[0].recipe.categories).toEqual([
      { category: 1, weight: null },
      { category: 2, weight: 1 },
    ]);
    expect(within(preview).getByTestId('preview-unreviewed')).toHaveTextContent('2 clusters are not reviewed');

    const weight = screen.getByLabelText('Weight of Tumour');
    expect(weight).toHaveAttribute('placeholder', '1');
    await user.type(weight, '3');
    await waitFor(() => expect(tumourCell()).toHaveTextContent('750of 3,000 eligible'));
    // One request for the new weight: the keystroke is debounced, and nothing else is asked for.
    expect(state.previews).toHaveLength(2);
    expect(state.previews[1].recipe.categories[0]).toEqual({ category: 1, weight: 3 });
    expect(screen.getByText('Unsaved changes')).toBeInTheDocument();

    // Including a category and adding a group both reach the recipe that is previewed.
    await user.click(screen.getByRole('checkbox', { name: /Immune cells/ }));
    await user.click(screen.getByRole('button', { name: 'Add group' }));
    await waitFor(() => expect(state.previews).toHaveLength(3));
    expect(state.previews[2].recipe.categories.map((c) => c.category)).toEqual([1, 2, 3]);
    expect(state.previews[2].recipe.groups).toEqual([
      { group: 1, weight: 2 },
      { group: 2, weight: 1 },
    ]);

    await user.click(screen.getByRole('button', { name: 'Save' }));
    await waitFor(() => expect(state.patches).toHaveLength(1));
    expect(state.patches[0]).toMatchObject({ name: 'colon H&E v4', cluster_run: 3, recipe: { categories: [{ category: 1, weight: 3 }, { category: 2, weight: 1 }, { category: 3, weight: null }] } });
    expect(await screen.findByText('Saved')).toBeInTheDocument();
  });

  it('shows a refusal over unreviewed clusters and builds once they are included explicitly', async () => {
    const state = useDatasetServer(makeDataset(4));
    server.use(
      http.post('*/api/datasets/:id/build/', () => {
        state.builds.push(1);
        if (!state.current().recipe.include_unreviewed) {
          return HttpResponse.json(
            { detail: "2 cluster(s) of the run are unreviewed: review them, or set include_unreviewed to sample them as the category 'unreviewed'.", code: 'unreviewed' },
            { status: 409 },
          );
        }
        state.setCurrent({ ...state.current(), status: 'building', progress_done: 1, progress_total: 4, message: 'drawing tiles' });
        return HttpResponse.json(state.current(), { status: 202 });
      }),
    );
    const { user } = renderApp('/datasets/4', { as: users.pathologist });
    await user.click(await screen.findByRole('button', { name: 'Build' }));
    const refused = await screen.findByTestId('build-refused');
    expect(refused).toHaveTextContent('2 cluster(s) of the run are unreviewed');
    expect(state.patches[0]).toMatchObject({ recipe: { include_unreviewed: false } });

    await user.click(within(refused).getByRole('button', { name: 'Include unreviewed clusters and build' }));
    expect(await screen.findByRole('heading', { name: 'Building…' })).toBeInTheDocument();
    expect(state.patches[1]).toMatchObject({ recipe: { include_unreviewed: true } });
    expect(state.builds).toHaveLength(2);
    expect(screen.getByTestId('dataset-progress-4')).toHaveTextContent('1/4 (25%)drawing tiles');
  });

  it('puts a refused recipe’s sentence next to the field it names', async () => {
    useDatasetServer(makeDataset(4));
    server.use(http.patch('*/api/datasets/:id/', () => HttpResponse.json({ detail: 'quality.min_tissue_fraction must be at most 1.', code: 'invalid_recipe' }, { status: 400 })));
    const { user } = renderApp('/datasets/4', { as: users.pathologist });
    const field = await screen.findByLabelText('Min tissue fraction');
    await user.clear(field);
    await user.type(field, '2');
    await user.click(screen.getByRole('button', { name: 'Save' }));
    const stack = field.closest('.field-stack') as HTMLElement;
    expect(await within(stack).findByText('quality.min_tissue_fraction must be at most 1.')).toBeInTheDocument();
    expect(screen.getByText('The server refused the recipe: see the marked field.')).toBeInTheDocument();
  });
});
