import { useQuery } from '@tanstack/react-query';
import { api } from '@/lib/api';
import { slideDetailSchema, slideKeys } from './slide-schemas';

export function getSlide(id: number) {
  return api(`/api/slides/${id}/`, slideDetailSchema);
}

export function useSlide(id: number) {
  return useQuery({ queryKey: slideKeys.detail(id), queryFn: () => getSlide(id), enabled: Number.isFinite(id) });
}
