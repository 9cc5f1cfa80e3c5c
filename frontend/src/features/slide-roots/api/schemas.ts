import { z } from 'zod';

export const scanStatusSchema = z.enum(['queued', 'running', 'succeeded', 'failed']);
export type ScanStatus = z.infer<typeof scanStatusSchema>;

const count = z.number().nullable().optional().transform((v) => v ?? 0);

export const scanSchema = z.object({
  id: z.number(),
  root: z.number(),
  status: z.string(),
  total: count,
  processed: count,
  registered: count,
  unchanged: count,
  moved: count,
  failed: count,
  missing: count,
  message: z.string().nullable().optional().transform((v) => v ?? ''),
  created_at: z.string().nullable().optional(),
  started_at: z.string().nullable().optional(),
  finished_at: z.string().nullable().optional(),
});
export type Scan = z.infer<typeof scanSchema>;

export const slideRootSchema = z.object({
  id: z.number(),
  name: z.string(),
  path: z.string(),
  slide_count: count,
  created_at: z.string().nullable().optional(),
  last_scan: scanSchema.nullable().optional().transform((v) => v ?? null),
  restricted: z.boolean().optional().default(false),
  allowed_users: z.array(z.number()).optional().default([]),
});
export type SlideRoot = z.infer<typeof slideRootSchema>;

export function isScanActive(status: string): boolean {
  return status === 'queued' || status === 'running';
}

export const userOptionSchema = z.object({ id: z.number(), username: z.string(), role: z.string() });
export type UserOption = z.infer<typeof userOptionSchema>;

export const rootKeys = {
  all: ['slide-roots'] as const,
  users: ['slide-roots', 'users'] as const,
  list: ['slide-roots', 'list'] as const,
  scan: (id: number) => ['scans', id] as const,
};
