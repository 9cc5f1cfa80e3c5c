import { useMutation, useQueryClient } from '@tanstack/react-query';
import { api } from '@/lib/api';
import { rootKeys, scanSchema } from './schemas';

export function startScan(rootId: number) {
  return api(`/api/slide-roots/${rootId}/scan/`, scanSchema, { method: 'POST' });
}

export function useStartScan() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: startScan,
    onSuccess: (scan) => queryClient.setQueryData(rootKeys.scan(scan.id), scan),
  });
}
