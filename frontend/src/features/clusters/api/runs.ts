import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { z } from 'zod';
import { api, listOf } from '@/lib/api';
import { clusterKeys, clusterMapSchema, clusterRunSchema, clusterSchema, disagreementSchema, isActive, type ClusterRun } from './schemas';

/** How often runs are refreshed while one is queued or running. */
export const RUN_POLL_MS = 2000;

export interface NewClusterRun {
  name: string;
  config: number;
  feature_kind: 'colour' | 'embedding';
  /** A timm model (and local weights), or a training run's exported backbone, resolved by the server. */
  embedding_model: { name: string; weights: string | null; image_size: number | null } | { training_run: number } | null;
  k: number;
  per_slide: number;
  iterations: number;
  restarts: number;
  spherical: boolean;
  method: 'flat' | 'hierarchical';
  levels: number[];
  seed: number;
  slides: number[];
  group: number | null;
}

export async function getClusterRuns(params: { status?: string } = {}) {
  const runs = await api('/api/cluster-runs/', listOf(clusterRunSchema), { params: { page_size: 100, ...params } });
  // Newest first whatever order the server lists them in.
  return [...runs].sort((a, b) => b.id - a.id);
}

export function useClusterRuns() {
  return useQuery({
    queryKey: clusterKeys.runs,
    queryFn: () => getClusterRuns(),
    staleTime: 0,
    refetchInterval: (q) => (q.state.data?.some((r) => isActive(r.status)) ? RUN_POLL_MS : false),
  });
}

/** Finished runs only: the viewer overlay draws their labels. */
export function useSucceededClusterRuns() {
  return useQuery({ queryKey: [...clusterKeys.runs, 'succeeded'], queryFn: () => getClusterRuns({ status: 'succeeded' }) });
}

export function getClusterRun(id: number) {
  return api(`/api/cluster-runs/${id}/`, clusterRunSchema);
}

export function useClusterRun(id: number) {
  return useQuery({
    queryKey: clusterKeys.run(id),
    queryFn: () => getClusterRun(id),
    staleTime: 0,
    refetchInterval: (q) => (q.state.data && !isActive(q.state.data.status) ? false : RUN_POLL_MS),
  });
}

export function startClusterRun(body: NewClusterRun) {
  return api('/api/cluster-runs/', clusterRunSchema, { method: 'POST', body });
}

function useRunMutation<TArgs>(fn: (args: TArgs) => Promise<ClusterRun>) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: fn,
    onSuccess: (run) => {
      queryClient.setQueryData(clusterKeys.run(run.id), run);
      return queryClient.invalidateQueries({ queryKey: clusterKeys.runs, exact: true });
    },
  });
}

export function useStartClusterRun() {
  return useRunMutation(startClusterRun);
}

/** cancel | resume | lock | unlock: each answers the run as it is now. */
export type RunAction = 'cancel' | 'resume' | 'lock' | 'unlock';

export function useRunAction() {
  return useRunMutation(({ id, action }: { id: number; action: RunAction }) =>
    api(`/api/cluster-runs/${id}/${action}/`, clusterRunSchema, { method: 'POST' }),
  );
}

export function useClusterMap(runId: number, enabled = true) {
  return useQuery({
    queryKey: clusterKeys.map(runId),
    queryFn: () => api(`/api/cluster-runs/${runId}/map/`, clusterMapSchema),
    enabled,
    // The positions never change; colours come from the live cluster list.
    staleTime: Infinity,
  });
}

export function useDisagreements(runId: number, enabled: boolean) {
  return useQuery({
    queryKey: clusterKeys.disagreements(runId),
    queryFn: () => api(`/api/cluster-runs/${runId}/disagreements/`, listOf(disagreementSchema)),
    enabled,
    staleTime: 0,
  });
}

export function mergeClusters(runId: number, body: { target: number; clusters: number[] }) {
  return api(`/api/cluster-runs/${runId}/merge/`, z.array(clusterSchema), { method: 'POST', body });
}
