import { useQuery } from '@tanstack/react-query';
import { z } from 'zod';
import { api, paginated } from '@/lib/api';

/** Only what the root filter needs; the admin feature owns the full slide-root shape. */
const rootOptionSchema = z.object({ id: z.number(), name: z.string() }).loose();

export function getRootOptions() {
  return api('/api/slide-roots/', paginated(rootOptionSchema), { params: { page_size: 200 } });
}

export function useRootOptions() {
  return useQuery({ queryKey: ['slides', 'root-options'], queryFn: getRootOptions });
}
