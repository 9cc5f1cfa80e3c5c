import { useQuery } from '@tanstack/react-query';
import { api } from '@/lib/api';
import { dziSchema, slideKeys } from './slide-schemas';

export function getDzi(id: number) {
  return api(`/api/slides/${id}/dzi.json`, dziSchema);
}

export function useDzi(id: number, enabled: boolean) {
  return useQuery({ queryKey: slideKeys.dzi(id), queryFn: () => getDzi(id), enabled, staleTime: Infinity });
}
