import { useMutation, useQueryClient } from '@tanstack/react-query';
import { z } from 'zod';
import { api } from '@/lib/api';
import { slideKeys } from './slide-schemas';

export const bulkResultSchema = z.object({ slides: z.number(), added: z.number(), removed: z.number() });
export type BulkResult = z.infer<typeof bulkResultSchema>;

export interface BulkTagRequest {
  slides: number[];
  add: number[];
  remove: number[];
}

export function bulkTag(body: BulkTagRequest) {
  return api('/api/tags/bulk/', bulkResultSchema, { method: 'POST', body });
}

export function useBulkTag() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: bulkTag,
    onSuccess: () => queryClient.invalidateQueries({ queryKey: slideKeys.all }),
  });
}
