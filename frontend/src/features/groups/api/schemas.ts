import { z } from 'zod';

const str = z.string().nullable().optional().transform((v) => v ?? '');

export const GROUP_KINDS = ['rule', 'explicit'] as const;
export type GroupKind = (typeof GROUP_KINDS)[number];

export const groupSchema = z.object({
  id: z.number(),
  name: z.string(),
  description: str,
  weight: z.number(),
  kind: z.enum(GROUP_KINDS),
  rule: str,
  slide_count: z.number(),
  created_at: str,
  updated_at: str,
});
export type Group = z.infer<typeof groupSchema>;

export const groupSummarySchema = z.object({
  slides: z.number(),
  in_no_group: z.number(),
  in_multiple_groups: z.number(),
  groups: z.array(z.object({ id: z.number(), name: z.string(), slide_count: z.number(), weight: z.number() })).default([]),
});
export type GroupSummary = z.infer<typeof groupSummarySchema>;

export const snapshotSchema = z.object({ id: z.number(), group: z.number(), slide_count: z.number(), created_at: str });
export type Snapshot = z.infer<typeof snapshotSchema>;

export const groupKeys = {
  all: ['groups'] as const,
  list: (page: number) => ['groups', 'list', page] as const,
  summary: ['groups', 'summary'] as const,
  snapshots: (id: number) => ['groups', 'snapshots', id] as const,
  preview: (rule: string) => ['groups', 'preview', rule] as const,
};
