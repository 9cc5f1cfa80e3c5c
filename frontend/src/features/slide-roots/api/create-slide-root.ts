import { useMutation, useQueryClient } from '@tanstack/react-query';
import { api } from '@/lib/api';
import { rootKeys, slideRootSchema } from './schemas';

export interface NewSlideRoot {
  name: string;
  path: string;
}

export function createSlideRoot(body: NewSlideRoot) {
  return api('/api/slide-roots/', slideRootSchema, { method: 'POST', body });
}

export function useCreateSlideRoot() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: createSlideRoot,
    onSuccess: () => queryClient.invalidateQueries({ queryKey: rootKeys.all }),
  });
}
