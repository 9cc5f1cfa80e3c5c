import { useMutation, useQueryClient } from '@tanstack/react-query';
import { z } from 'zod';
import { api } from '@/lib/api';
import { type ReviewStatus, slideKeys } from './slide-schemas';

export interface ReviewRequest {
  slides: number[];
  status: ReviewStatus;
  reason?: string;
}

export function reviewSlides(body: ReviewRequest) {
  // The answer's shape is not pinned down by the contract; only success matters here.
  return api('/api/slides/review/', z.unknown(), { method: 'POST', body });
}

export function useReviewSlides() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: reviewSlides,
    onSuccess: () => queryClient.invalidateQueries({ queryKey: slideKeys.all }),
  });
}
