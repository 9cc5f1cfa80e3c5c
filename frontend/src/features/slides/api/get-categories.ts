import { useQuery } from '@tanstack/react-query';
import { z } from 'zod';
import { api } from '@/lib/api';
import { slideKeys } from './slide-schemas';

/**
 * The vocabulary as the slide pages need it (pickers, filters, chip grouping). The
 * vocabulary feature owns the full shape and its editing.
 */
export const termOptionSchema = z
  .object({
    id: z.number(),
    name: z.string(),
    code: z.string().nullable().optional().transform((v) => v ?? ''),
    synonyms: z.array(z.string()).nullable().optional().transform((v) => v ?? []),
    active: z.boolean().default(true),
  })
  .loose();
export type TermOption = z.infer<typeof termOptionSchema>;

export const categoryOptionSchema = z
  .object({
    id: z.number(),
    key: z.string(),
    name: z.string(),
    multi_valued: z.boolean(),
    order: z.number().default(0),
    terms: z.array(termOptionSchema).default([]),
  })
  .loose();
export type CategoryOption = z.infer<typeof categoryOptionSchema>;

export function getCategories() {
  return api('/api/categories/', z.array(categoryOptionSchema));
}

export function useCategories() {
  return useQuery({ queryKey: slideKeys.categories, queryFn: getCategories, staleTime: 5 * 60_000 });
}
