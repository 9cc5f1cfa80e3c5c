import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { z } from 'zod';
import { api, paginated } from '@/lib/api';
import { type RuleField, applyResultSchema, previewSlideSchema, tagRuleKeys, tagRuleSchema, termChoiceCategorySchema } from './schemas';

export const PREVIEW_PAGE_SIZE = 25;

export function useTagRules() {
  return useQuery({
    queryKey: tagRuleKeys.list,
    queryFn: () => api('/api/tag-rules/', paginated(tagRuleSchema), { params: { page_size: 200 } }),
  });
}

export function useTermChoices() {
  return useQuery({ queryKey: tagRuleKeys.terms, queryFn: () => api('/api/categories/', z.array(termChoiceCategorySchema)) });
}

export function useRulePreview(id: number, page: number) {
  return useQuery({
    queryKey: tagRuleKeys.preview(id, page),
    queryFn: () => api(`/api/tag-rules/${id}/preview/`, paginated(previewSlideSchema), { params: { page, page_size: PREVIEW_PAGE_SIZE } }),
    placeholderData: keepPreviousData,
  });
}

export interface TagRuleInput {
  name: string;
  field: RuleField;
  pattern: string;
  term: number;
  active: boolean;
}

export function useSaveTagRule() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ id, input }: { id: number | null; input: TagRuleInput }) =>
      id === null
        ? api('/api/tag-rules/', tagRuleSchema, { method: 'POST', body: input })
        : api(`/api/tag-rules/${id}/`, tagRuleSchema, { method: 'PATCH', body: input }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: tagRuleKeys.all }),
  });
}

export function useDeleteTagRule() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (id: number) => api(`/api/tag-rules/${id}/`, null, { method: 'DELETE' }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: tagRuleKeys.all }),
  });
}

export function useApplyTagRule() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (id: number) => api(`/api/tag-rules/${id}/apply/`, applyResultSchema, { method: 'POST' }),
    // The preview's has_term column changes; slide lists elsewhere refetch when they go stale.
    onSuccess: () => queryClient.invalidateQueries({ queryKey: tagRuleKeys.all }),
  });
}
