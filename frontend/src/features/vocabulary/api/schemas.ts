import { z } from 'zod';

const str = z.string().nullable().optional().transform((v) => v ?? '');

export const termSchema = z.object({
  id: z.number(),
  category: z.number(),
  category_key: str,
  name: z.string(),
  code: str,
  synonyms: z.array(z.string()).nullable().optional().transform((v) => v ?? []),
  active: z.boolean(),
});
export type Term = z.infer<typeof termSchema>;

export const categorySchema = z.object({
  id: z.number(),
  key: z.string(),
  name: z.string(),
  description: str,
  multi_valued: z.boolean(),
  order: z.number().default(0),
  terms: z.array(termSchema).default([]),
});
export type Category = z.infer<typeof categorySchema>;

export const vocabularyKeys = { all: ['vocabulary'] as const, categories: ['vocabulary', 'categories'] as const };

/** "a, b ,, c" → ["a", "b", "c"]: synonyms are typed as one comma-separated line. */
export function parseSynonyms(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}
