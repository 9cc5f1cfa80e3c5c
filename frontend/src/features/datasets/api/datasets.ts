import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, listOf } from '@/lib/api';
import {
  datasetKeys,
  datasetSchema,
  diffSchema,
  exportJobSchema,
  isBuilding,
  isExportActive,
  previewSchema,
  statsSchema,
  type Dataset,
  type RecipeInput,
} from './schemas';

/** How often a building version or a running export is asked about. */
export const DATASET_POLL_MS = 1500;

export async function getDatasets() {
  const versions = await api('/api/datasets/', listOf(datasetSchema), { params: { page_size: 200 } });
  return [...versions].sort((a, b) => b.id - a.id);
}

export function useDatasets() {
  return useQuery({
    queryKey: datasetKeys.list,
    queryFn: getDatasets,
    staleTime: 0,
    refetchInterval: (q) => (q.state.data?.some((d) => isBuilding(d.status)) ? DATASET_POLL_MS : false),
  });
}

export function useDataset(id: number) {
  return useQuery({
    queryKey: datasetKeys.detail(id),
    queryFn: () => api(`/api/datasets/${id}/`, datasetSchema),
    staleTime: 0,
    refetchInterval: (q) => (q.state.data && isBuilding(q.state.data.status) ? DATASET_POLL_MS : false),
  });
}

/** Every change to a version refreshes the list too (status, rows, names). */
function useDatasetMutation<TArgs>(fn: (args: TArgs) => Promise<Dataset>) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: fn,
    onSuccess: (dataset) => {
      queryClient.setQueryData(datasetKeys.detail(dataset.id), dataset);
      return queryClient.invalidateQueries({ queryKey: datasetKeys.list });
    },
  });
}

export interface NewDataset {
  name: string;
  cluster_run: number;
  recipe: RecipeInput;
}

export function useCreateDataset() {
  return useDatasetMutation((body: NewDataset) => api('/api/datasets/', datasetSchema, { method: 'POST', body }));
}

export function useUpdateDataset() {
  return useDatasetMutation(({ id, patch }: { id: number; patch: Partial<NewDataset> }) =>
    api(`/api/datasets/${id}/`, datasetSchema, { method: 'PATCH', body: patch }),
  );
}

export function useBuildDataset() {
  return useDatasetMutation((id: number) => api(`/api/datasets/${id}/build/`, datasetSchema, { method: 'POST' }));
}

export function useCloneDataset() {
  return useDatasetMutation((id: number) => api(`/api/datasets/${id}/clone/`, datasetSchema, { method: 'POST' }));
}

export function useDeleteDataset() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (id: number) => api(`/api/datasets/${id}/`, null, { method: 'DELETE' }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: datasetKeys.list }),
  });
}

/**
 * Estimated composition of `recipe` (already debounced by the caller). The previous answer stays
 * on screen while the next is on its way, so the chart does not flicker as weights are typed.
 */
export function usePreview(id: number, clusterRun: number | null, recipe: RecipeInput | null) {
  return useQuery({
    queryKey: datasetKeys.preview(id, { clusterRun, recipe }),
    queryFn: ({ signal }) => api(`/api/datasets/${id}/preview/`, previewSchema, { method: 'POST', body: { recipe }, signal }),
    enabled: recipe !== null,
    placeholderData: keepPreviousData,
    staleTime: 60_000,
  });
}

export function useDatasetStats(id: number, enabled = true) {
  return useQuery({ queryKey: datasetKeys.stats(id), queryFn: () => api(`/api/datasets/${id}/stats/`, statsSchema), enabled, staleTime: Infinity });
}

export function useDatasetDiff(id: number, other: number | null) {
  return useQuery({
    queryKey: datasetKeys.diff(id, other ?? 0),
    queryFn: () => api(`/api/datasets/${id}/diff/`, diffSchema, { params: { other } }),
    enabled: other !== null,
    staleTime: Infinity,
  });
}

export function useStartExport() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ id, shardSize }: { id: number; shardSize: number }) =>
      api(`/api/datasets/${id}/exports/`, exportJobSchema, { method: 'POST', body: { kind: 'webdataset', shard_size: shardSize } }),
    onSuccess: (job) => {
      queryClient.setQueryData(datasetKeys.exportJob(job.id), job);
      return queryClient.invalidateQueries({ queryKey: datasetKeys.exports(job.dataset ?? 0) });
    },
  });
}

/** A version's export jobs, newest first. */
export function useDatasetExports(id: number) {
  return useQuery({
    queryKey: datasetKeys.exports(id),
    queryFn: () => api(`/api/datasets/${id}/exports/`, listOf(exportJobSchema)),
    staleTime: 0,
  });
}

export function useExportJob(id: number | null) {
  return useQuery({
    queryKey: datasetKeys.exportJob(id ?? 0),
    queryFn: () => api(`/api/exports/${id}/`, exportJobSchema),
    enabled: id !== null,
    staleTime: 0,
    refetchInterval: (q) => (q.state.data && !isExportActive(q.state.data.status) ? false : DATASET_POLL_MS),
  });
}
