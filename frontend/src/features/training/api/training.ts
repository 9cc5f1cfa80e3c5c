import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { z } from 'zod';
import { api, listOf } from '@/lib/api';
import { isActive, metricsSchema, presetSchema, trainingKeys, trainingRunSchema, type TrainingRun } from './schemas';

/** How often a queued or running run, and its curves, are asked about. */
export const TRAINING_POLL_MS = 2000;

/** Points per curve the metrics endpoint is asked for (it downsamples longer runs). */
export const MAX_POINTS = 500;

export async function getTrainingRuns() {
  const runs = await api('/api/training/runs/', listOf(trainingRunSchema), { params: { page_size: 100 } });
  // Newest first whatever order the server lists them in.
  return [...runs].sort((a, b) => b.id - a.id);
}

export function useTrainingRuns() {
  return useQuery({
    queryKey: trainingKeys.runs,
    queryFn: getTrainingRuns,
    staleTime: 0,
    refetchInterval: (q) => (q.state.data?.some((r) => isActive(r.status)) ? TRAINING_POLL_MS : false),
  });
}

export function useTrainingRun(id: number) {
  return useQuery({
    queryKey: trainingKeys.run(id),
    queryFn: () => api(`/api/training/runs/${id}/`, trainingRunSchema),
    staleTime: 0,
    refetchInterval: (q) => (q.state.data && !isActive(q.state.data.status) ? false : TRAINING_POLL_MS),
  });
}

/** The run's curves, polled while it runs; the previous curves stay drawn while the next arrive. */
export function useTrainingMetrics(id: number, active: boolean) {
  return useQuery({
    queryKey: trainingKeys.metrics(id),
    queryFn: () => api(`/api/training/runs/${id}/metrics/`, metricsSchema, { params: { max_points: MAX_POINTS } }),
    staleTime: 0,
    placeholderData: keepPreviousData,
    refetchInterval: active ? TRAINING_POLL_MS : false,
  });
}

export function usePresets(enabled = true) {
  return useQuery({
    queryKey: trainingKeys.presets,
    queryFn: () => api('/api/training/presets/', z.array(presetSchema)),
    enabled,
    staleTime: Infinity,
  });
}

/** The override fields the launch form offers; the API takes any recipe field. */
export const OVERRIDE_FIELDS = ['total_steps', 'batch_size', 'checkpoint_every', 'eval_every'] as const;
export type OverrideField = (typeof OVERRIDE_FIELDS)[number];

export interface NewTrainingRun {
  name: string;
  dataset_version: number;
  preset: string;
  model?: string;
  weights?: string;
  overrides?: Partial<Record<OverrideField, number>>;
  eval_folder?: string;
}

function useRunMutation<TArgs>(fn: (args: TArgs) => Promise<TrainingRun>) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: fn,
    onSuccess: (run) => {
      queryClient.setQueryData(trainingKeys.run(run.id), run);
      return queryClient.invalidateQueries({ queryKey: trainingKeys.runs, exact: true });
    },
  });
}

export function useStartTrainingRun() {
  return useRunMutation((body: NewTrainingRun) => api('/api/training/runs/', trainingRunSchema, { method: 'POST', body }));
}

export type TrainingRunAction = 'cancel' | 'resume';

/** cancel | resume: each answers the run as it is now (202). */
export function useTrainingRunAction() {
  return useRunMutation(({ id, action }: { id: number; action: TrainingRunAction }) =>
    api(`/api/training/runs/${id}/${action}/`, trainingRunSchema, { method: 'POST' }),
  );
}
