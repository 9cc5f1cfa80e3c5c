import { useQuery } from '@tanstack/react-query';
import { z } from 'zod';
import { api } from '@/lib/api';
import { slideKeys } from './slide-schemas';

const suggestionSchema = z.object({
  term: z
    .object({
      id: z.number(),
      name: z.string(),
      category_key: z.string().nullable().optional().transform((v) => v ?? ''),
    })
    .loose(),
  reason: z.string().nullable().optional().transform((v) => v ?? ''),
});
export type Suggestion = z.infer<typeof suggestionSchema>;

export function getSuggestions(slideId: number) {
  return api(`/api/slides/${slideId}/suggestions/`, z.array(suggestionSchema));
}

export function useSuggestions(slideId: number, enabled: boolean) {
  return useQuery({ queryKey: slideKeys.suggestions(slideId), queryFn: () => getSuggestions(slideId), enabled });
}
