import { z } from 'zod';

const str = z.string().nullable().optional().transform((v) => v ?? '');

export const RULE_FIELDS = ['path', 'name'] as const;
export type RuleField = (typeof RULE_FIELDS)[number];

export const tagRuleSchema = z.object({
  id: z.number(),
  name: z.string(),
  field: z.enum(RULE_FIELDS),
  pattern: z.string(),
  term: z.number(),
  term_name: str,
  category_key: str,
  active: z.boolean().default(true),
});
export type TagRule = z.infer<typeof tagRuleSchema>;

/** A slide the rule matches; only what the preview table shows. */
export const previewSlideSchema = z
  .object({ id: z.number(), name: z.string(), relative_path: str, has_term: z.boolean() })
  .loose();
export type PreviewSlide = z.infer<typeof previewSlideSchema>;

export const applyResultSchema = z.object({ matched: z.number(), added: z.number() });
export type ApplyResult = z.infer<typeof applyResultSchema>;

/** The term picker's needs from the vocabulary. */
export const termChoiceCategorySchema = z
  .object({
    key: z.string(),
    name: z.string(),
    terms: z.array(z.object({ id: z.number(), name: z.string(), active: z.boolean().default(true) }).loose()).default([]),
  })
  .loose();

export const tagRuleKeys = {
  all: ['tag-rules'] as const,
  list: ['tag-rules', 'list'] as const,
  preview: (id: number, page: number) => ['tag-rules', 'preview', id, page] as const,
  terms: ['tag-rules', 'term-choices'] as const,
};
