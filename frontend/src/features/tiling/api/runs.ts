import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, paginated } from '@/lib/api';
import { isActive, tilingKeys, tilingRunSchema } from './schemas';

/** How often runs (and their slides) are refreshed while one is queued or running. */
export const RUN_POLL_MS = 2000;

/** Exactly one target: explicit slides, a group, or every slide not yet tiled. */
export type RunTarget = { slides: number[] } | { group: number } | { untiled: true };
export type NewTilingRun = { config: number } & RunTarget;

export async function getTilingRuns() {
  const page = await api('/api/tiling-runs/', paginated(tilingRunSchema), { params: { page_size: 100 } });
  // Newest first whatever order the server lists them in.
  return { ...page, results: [...page.results].sort((a, b) => b.id - a.id) };
}

export function useTilingRuns() {
  return useQuery({
    queryKey: tilingKeys.runs,
    queryFn: getTilingRuns,
    staleTime: 0,
    refetchInterval: (q) => (q.state.data?.results.some((r) => isActive(r.status)) ? RUN_POLL_MS : false),
  });
}

export function getTilingRun(id: number) {
  return api(`/api/tiling-runs/${id}/`, tilingRunSchema);
}

export function useTilingRun(id: number) {
  return useQuery({
    queryKey: tilingKeys.run(id),
    queryFn: () => getTilingRun(id),
    staleTime: 0,
    refetchInterval: (q) => (q.state.data && !isActive(q.state.data.status) ? false : RUN_POLL_MS),
  });
}

export function startTilingRun(body: NewTilingRun) {
  return api('/api/tiling-runs/', tilingRunSchema, { method: 'POST', body });
}

export function useStartTilingRun() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: startTilingRun,
    onSuccess: (run) => {
      queryClient.setQueryData(tilingKeys.run(run.id), run);
      return queryClient.invalidateQueries({ queryKey: tilingKeys.runs, exact: true });
    },
  });
}
