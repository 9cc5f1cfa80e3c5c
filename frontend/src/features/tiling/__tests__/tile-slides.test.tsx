import { screen, waitFor, within } from '@testing-library/react';
import { http, HttpResponse } from 'msw';
import { makeTilingRun, users } from '@/testing/fixtures';
import { renderApp } from '@/testing/render-app';
import { server } from '@/testing/server';

describe('slide browser: Tile…', () => {
  it('launches a run for the selected slides and links to it', async () => {
    const bodies: unknown[] = [];
    server.use(
      http.post('*/api/tiling-runs/', async ({ request }) => {
        bodies.push(await request.json());
        return HttpResponse.json(makeTilingRun(21, { status: 'queued', total: 2, done: 0, failed: 0 }), { status: 202 });
      }),
    );
    const { user } = renderApp('/slides?view=table', { as: users.admin });
    await screen.findAllByTestId('slide-item');
    await user.click(screen.getByRole('checkbox', { name: 'Select CMU-1.svs' }));
    await user.click(screen.getByRole('checkbox', { name: 'Select CMU-2.svs' }));
    await user.click(screen.getByRole('button', { name: 'Tile…' }));
    const form = await screen.findByRole('form', { name: 'Tile slides' });
    await user.selectOptions(within(form).getByLabelText('Tiling configuration'), await within(form).findByRole('option', { name: '256px @ 0.5 #1' }));
    await user.click(within(form).getByRole('button', { name: 'Tile 2 slides' }));

    const result = await screen.findByTestId('tile-result');
    expect(result).toHaveTextContent('Run #21 started for 2 slides.');
    expect(within(result).getByRole('link', { name: '#21' })).toHaveAttribute('href', '/tiling/runs/21');
    await waitFor(() => expect(bodies).toEqual([{ config: 1, slides: [1, 2] }]));
  });

  it('is not offered to pathologists', async () => {
    const { user } = renderApp('/slides?view=table', { as: users.pathologist });
    await screen.findAllByTestId('slide-item');
    await user.click(screen.getByRole('checkbox', { name: 'Select CMU-1.svs' }));
    expect(screen.getByRole('button', { name: 'Add terms…' })).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Tile…' })).not.toBeInTheDocument();
  });
});
