import { useQuery } from '@tanstack/react-query';
import { api, paginated } from '@/lib/api';
import { rootKeys, slideRootSchema } from './schemas';

export function getSlideRoots() {
  return api('/api/slide-roots/', paginated(slideRootSchema), { params: { page_size: 200 } });
}

export function useSlideRoots() {
  return useQuery({ queryKey: rootKeys.list, queryFn: getSlideRoots });
}
