import { useQuery } from '@tanstack/react-query';
import { api } from '@/lib/api';
import { facetsSchema, slideKeys } from './slide-schemas';

export function getFacets() {
  return api('/api/slides/facets/', facetsSchema);
}

export function useFacets() {
  return useQuery({ queryKey: slideKeys.facets, queryFn: getFacets });
}
