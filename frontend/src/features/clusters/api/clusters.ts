import { keepPreviousData, useMutation, useQuery, useQueryClient, type QueryClient } from '@tanstack/react-query';
import { z } from 'zod';
import { api, listOf, paginated } from '@/lib/api';
import { mergeClusters } from './runs';
import {
  clusterDetailSchema,
  clusterKeys,
  clusterSchema,
  similarSchema,
  slideLabelsSchema,
  voteSchema,
  type Cluster,
  type ClusterDetail,
} from './schemas';

const PAGE_SIZE = 200; // the server's cap

const clusterPage = z.union([z.array(clusterSchema), paginated(clusterSchema)]);

/** Every cluster of a run, by index: one request per 200 clusters (k is rarely above 1000). */
export async function getRunClusters(runId: number): Promise<Cluster[]> {
  const out: Cluster[] = [];
  for (let page = 1; ; page += 1) {
    const answer = await api('/api/clusters/', clusterPage, { params: { run: runId, page, page_size: PAGE_SIZE } });
    if (Array.isArray(answer)) return answer;
    out.push(...answer.results);
    if (!answer.next || answer.results.length === 0) break;
  }
  return out.sort((a, b) => a.index - b.index);
}

/**
 * The run's clusters with their current decisions: the single source of the gallery's
 * statuses. Not refetched on a timer, so optimistic decisions are never overwritten while
 * their requests are in flight.
 */
export function useRunClusters(runId: number) {
  return useQuery({ queryKey: clusterKeys.list(runId), queryFn: () => getRunClusters(runId), staleTime: 60_000 });
}

export function getClusterDetail(id: number) {
  return api(`/api/clusters/${id}/`, clusterDetailSchema);
}

export function clusterDetailQuery(id: number) {
  // Exemplars and composition never change after the run; decisions come from the list.
  return { queryKey: clusterKeys.detail(id), queryFn: () => getClusterDetail(id), staleTime: 5 * 60_000 };
}

export function useClusterDetail(id: number | null) {
  return useQuery({ ...clusterDetailQuery(id ?? 0), enabled: id !== null, placeholderData: keepPreviousData });
}

export function useClusterVotes(id: number | null) {
  return useQuery({
    queryKey: clusterKeys.votes(id ?? 0),
    queryFn: () => api(`/api/clusters/${id}/votes/`, listOf(voteSchema)),
    enabled: id !== null,
    staleTime: 0,
  });
}

export function useSimilarTiles(runId: number, tile: { slide: number; index: number } | null, k = 24) {
  return useQuery({
    queryKey: clusterKeys.similar(runId, tile?.slide ?? 0, tile?.index ?? 0),
    queryFn: () => api(`/api/cluster-runs/${runId}/similar/`, similarSchema, { params: { slide: tile?.slide, index: tile?.index, k } }),
    enabled: tile !== null,
    staleTime: Infinity,
  });
}

export function useSlideLabels(runId: number | null, slideId: number) {
  return useQuery({
    queryKey: clusterKeys.labels(runId ?? 0, slideId),
    queryFn: () => api(`/api/cluster-runs/${runId}/slides/${slideId}/labels/`, slideLabelsSchema),
    enabled: runId !== null,
  });
}

/** What a reviewer decides; the version is added when the request is sent. */
export interface Decision {
  status: 'unreviewed' | 'accepted' | 'rejected';
  category: number | null;
  reject_reason: string;
  weight: number | null;
  note: string;
}

/** Replace one cluster in the run's cached list (merging, so list-only fields survive). */
export function putCluster(queryClient: QueryClient, runId: number, cluster: Partial<Cluster> & { id: number }) {
  queryClient.setQueryData<Cluster[]>(clusterKeys.list(runId), (list) => list?.map((c) => (c.id === cluster.id ? { ...c, ...cluster } : c)));
  queryClient.setQueryData<ClusterDetail>(clusterKeys.detail(cluster.id), (d) => (d ? { ...d, ...cluster } : d));
}

function findCluster(queryClient: QueryClient, runId: number, id: number) {
  return queryClient.getQueryData<Cluster[]>(clusterKeys.list(runId))?.find((c) => c.id === id);
}

interface ReviewArgs {
  id: number;
  decision: Decision;
  /** Category name and colour for the optimistic entry. */
  display: { category_name: string; category_colour: string };
  /** POST …/settle/ (admin) instead of …/review/. */
  settle?: boolean;
}

/**
 * Review (or settle) one cluster, optimistically: the list shows the decision at once and
 * rolls back if the server refuses it. The cluster's `version` is read from the list when
 * the request leaves, so a decision queued behind another one on the same cluster carries
 * the version that one produced.
 */
export function useReviewCluster(runId: number) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ id, decision, settle }: ReviewArgs) => {
      const version = findCluster(queryClient, runId, id)?.version ?? 0;
      return api(`/api/clusters/${id}/${settle ? 'settle' : 'review'}/`, clusterSchema, {
        method: 'POST',
        body: { version, ...decision },
      });
    },
    onMutate: ({ id, decision, display }: ReviewArgs) => {
      const before = findCluster(queryClient, runId, id);
      putCluster(queryClient, runId, {
        id,
        ...decision,
        category_name: decision.status === 'accepted' ? display.category_name : '',
        category_colour: decision.status === 'accepted' ? display.category_colour : '',
      });
      return { before };
    },
    onError: (_err, _args, context) => {
      if (context?.before) putCluster(queryClient, runId, context.before);
      else void queryClient.invalidateQueries({ queryKey: clusterKeys.list(runId) });
    },
    onSuccess: (cluster) => putCluster(queryClient, runId, cluster),
    onSettled: (_data, _err, { id }) =>
      Promise.all([
        queryClient.invalidateQueries({ queryKey: clusterKeys.run(runId), exact: true }),
        queryClient.invalidateQueries({ queryKey: clusterKeys.votes(id) }),
        queryClient.invalidateQueries({ queryKey: clusterKeys.disagreements(runId) }),
      ]),
  });
}

export function useMergeClusters(runId: number) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: { target: number; clusters: number[] }) => mergeClusters(runId, body),
    onSuccess: (clusters) => clusters.forEach((c) => putCluster(queryClient, runId, c)),
    onSettled: () =>
      Promise.all([
        queryClient.invalidateQueries({ queryKey: clusterKeys.run(runId), exact: true }),
        queryClient.invalidateQueries({ queryKey: clusterKeys.disagreements(runId) }),
      ]),
  });
}

/** Take a merged cluster back out of its target (unreviewed again). */
export function useUnmergeCluster(runId: number) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (id: number) => api(`/api/clusters/${id}/unmerge/`, clusterSchema, { method: 'POST' }),
    onSuccess: (cluster) => putCluster(queryClient, runId, cluster),
    onSettled: () => queryClient.invalidateQueries({ queryKey: clusterKeys.run(runId), exact: true }),
  });
}
