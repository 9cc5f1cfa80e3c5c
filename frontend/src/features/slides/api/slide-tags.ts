import { useMutation, useQueryClient } from '@tanstack/react-query';
import { api } from '@/lib/api';
import { slideKeys, slideTagSchema } from './slide-schemas';

export function addSlideTag(slideId: number, termId: number) {
  return api(`/api/slides/${slideId}/tags/`, slideTagSchema, { method: 'POST', body: { term: termId } });
}

export function removeSlideTag(slideId: number, termId: number) {
  return api(`/api/slides/${slideId}/tags/${termId}/`, null, { method: 'DELETE' });
}

/** Tags change the slide, its suggestions and any list it appears in: refresh them all. */
function useRefreshSlides() {
  const queryClient = useQueryClient();
  return () => queryClient.invalidateQueries({ queryKey: slideKeys.all });
}

export function useAddSlideTag(slideId: number) {
  const refresh = useRefreshSlides();
  return useMutation({ mutationFn: (termId: number) => addSlideTag(slideId, termId), onSuccess: refresh });
}

export function useRemoveSlideTag(slideId: number) {
  const refresh = useRefreshSlides();
  return useMutation({ mutationFn: (termId: number) => removeSlideTag(slideId, termId), onSuccess: refresh });
}
