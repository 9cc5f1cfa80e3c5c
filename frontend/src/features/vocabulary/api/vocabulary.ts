import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { z } from 'zod';
import { api } from '@/lib/api';
import { categorySchema, termSchema, vocabularyKeys } from './schemas';

export function getCategories() {
  return api('/api/categories/', z.array(categorySchema));
}

export function useVocabulary() {
  return useQuery({ queryKey: vocabularyKeys.categories, queryFn: getCategories });
}

export interface CategoryInput {
  key: string;
  name: string;
  multi_valued: boolean;
}

export interface TermInput {
  category: number;
  name: string;
  code: string;
  synonyms: string[];
  active?: boolean;
}

function useVocabularyMutation<TArgs, TResult>(fn: (args: TArgs) => Promise<TResult>) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: fn,
    // Slide pages cache their own copy of the vocabulary (['slides', 'categories']); refresh it too.
    onSuccess: () =>
      Promise.all([
        queryClient.invalidateQueries({ queryKey: vocabularyKeys.all }),
        queryClient.invalidateQueries({ queryKey: ['slides', 'categories'] }),
      ]),
  });
}

export function useCreateCategory() {
  return useVocabularyMutation((body: CategoryInput) => api('/api/categories/', categorySchema.omit({ terms: true }).loose(), { method: 'POST', body }));
}

export function useCreateTerm() {
  return useVocabularyMutation((body: TermInput) => api('/api/terms/', termSchema, { method: 'POST', body }));
}

export function useUpdateTerm() {
  return useVocabularyMutation(({ id, patch }: { id: number; patch: Partial<TermInput> }) =>
    api(`/api/terms/${id}/`, termSchema, { method: 'PATCH', body: patch }),
  );
}
