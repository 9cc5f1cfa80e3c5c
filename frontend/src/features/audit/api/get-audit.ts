import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { z } from 'zod';
import { api, paginated, type QueryParams } from '@/lib/api';

const str = z.string().nullable().optional().transform((v) => v ?? '');

export const auditEntrySchema = z.object({
  id: z.number(),
  at: z.string(),
  actor: z.number().nullable().optional().transform((v) => v ?? null),
  actor_name: str,
  action: z.string(),
  object_type: str,
  object_id: z.union([z.number(), z.string()]).nullable().optional().transform((v) => (v === null || v === undefined ? '' : String(v))),
  slide: z.number().nullable().optional().transform((v) => v ?? null),
  before: z.unknown().optional().transform((v) => v ?? null),
  after: z.unknown().optional().transform((v) => v ?? null),
});
export type AuditEntry = z.infer<typeof auditEntrySchema>;

export interface AuditParams extends QueryParams {
  action?: string;
  slide?: string;
  actor?: string;
  page: number;
  page_size: number;
}

export function getAudit(params: AuditParams) {
  return api('/api/audit/', paginated(auditEntrySchema), { params });
}

export function useAudit(params: AuditParams) {
  return useQuery({ queryKey: ['audit', params], queryFn: () => getAudit(params), placeholderData: keepPreviousData });
}
