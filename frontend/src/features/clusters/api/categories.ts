import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, listOf } from '@/lib/api';
import { clusterKeys, semanticCategorySchema } from './schemas';

export interface CategoryInput {
  name: string;
  colour: string;
  default_weight: number;
  shortcut: string;
  description: string;
}

export function getSemanticCategories() {
  return api('/api/semantic-categories/', listOf(semanticCategorySchema), { params: { page_size: 200 } });
}

export function useSemanticCategories() {
  return useQuery({ queryKey: clusterKeys.categories, queryFn: getSemanticCategories });
}

/** Names and colours appear in cluster lists, the map and the overlay: refresh them all. */
function useCategoryMutation<TArgs, TResult>(fn: (args: TArgs) => Promise<TResult>) {
  const queryClient = useQueryClient();
  return useMutation({ mutationFn: fn, onSuccess: () => queryClient.invalidateQueries({ queryKey: clusterKeys.all }) });
}

export function useCreateSemanticCategory() {
  return useCategoryMutation((body: CategoryInput) => api('/api/semantic-categories/', semanticCategorySchema, { method: 'POST', body }));
}

export function useUpdateSemanticCategory() {
  return useCategoryMutation(({ id, patch }: { id: number; patch: Partial<CategoryInput> }) =>
    api(`/api/semantic-categories/${id}/`, semanticCategorySchema, { method: 'PATCH', body: patch }),
  );
}

export function useDeleteSemanticCategory() {
  return useCategoryMutation((id: number) => api(`/api/semantic-categories/${id}/`, null, { method: 'DELETE' }));
}
