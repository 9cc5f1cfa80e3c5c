import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect } from 'react';
import { api } from '@/lib/api';
import { isScanActive, rootKeys, scanSchema } from './schemas';

export const SCAN_POLL_MS = 1500;

export function getScan(id: number) {
  return api(`/api/scans/${id}/`, scanSchema);
}

/** Polls while the scan is queued or running; refreshes roots and slides when it ends. */
export function useScan(id: number) {
  const queryClient = useQueryClient();
  const query = useQuery({
    queryKey: rootKeys.scan(id),
    queryFn: () => getScan(id),
    refetchInterval: (q) => (q.state.data && !isScanActive(q.state.data.status) ? false : SCAN_POLL_MS),
    staleTime: 0,
  });
  const finished = query.data ? !isScanActive(query.data.status) : false;
  useEffect(() => {
    if (finished) {
      void queryClient.invalidateQueries({ queryKey: rootKeys.list });
      void queryClient.invalidateQueries({ queryKey: ['slides'] });
    }
  }, [finished, queryClient]);
  return query;
}
