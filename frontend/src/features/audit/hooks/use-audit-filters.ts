import { useCallback, useMemo } from 'react';
import { useSearchParams } from 'react-router-dom';
import type { AuditParams } from '../api/get-audit';

export const AUDIT_PAGE_SIZE = 50;

export interface AuditFilters {
  action: string;
  slide: string;
  actor: string;
  page: number;
}

/** Filters and page live in the URL, so that a link to "what happened to slide 12" works. */
export function useAuditFilters() {
  const [sp, setSp] = useSearchParams();
  const filters: AuditFilters = useMemo(() => {
    const page = Number(sp.get('page'));
    return {
      action: sp.get('action') ?? '',
      slide: sp.get('slide') ?? '',
      actor: sp.get('actor') ?? '',
      page: Number.isInteger(page) && page > 0 ? page : 1,
    };
  }, [sp]);

  const update = useCallback(
    (patch: Partial<AuditFilters>) => {
      setSp((prev) => {
        const next = new URLSearchParams(prev);
        for (const [key, value] of Object.entries(patch)) {
          if (value === '' || (key === 'page' && value === 1)) next.delete(key);
          else next.set(key, String(value));
        }
        // A new filter starts again at the newest entries.
        if (!('page' in patch)) next.delete('page');
        return next;
      });
    },
    [setSp],
  );

  const params: AuditParams = useMemo(
    () => ({
      action: filters.action || undefined,
      slide: filters.slide || undefined,
      actor: filters.actor || undefined,
      page: filters.page,
      page_size: AUDIT_PAGE_SIZE,
    }),
    [filters],
  );
  return { filters, params, update };
}
