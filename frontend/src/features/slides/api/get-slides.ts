import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { api, paginated, type QueryParams } from '@/lib/api';
import { slideKeys, slideSchema } from './slide-schemas';

const slidePageSchema = paginated(slideSchema);

export interface SlideListParams extends QueryParams {
  search?: string;
  status?: string[];
  vendor?: string[];
  mpp_min?: string;
  mpp_max?: string;
  root?: string;
  term?: string[];
  review_status?: string[];
  group?: string;
  groups?: string;
  ordering?: string;
  page?: number;
  page_size?: number;
}

export function getSlides(params: SlideListParams, signal?: AbortSignal) {
  return api('/api/slides/', slidePageSchema, { params, signal });
}

export function useSlides(params: SlideListParams) {
  return useQuery({
    queryKey: slideKeys.list(params),
    queryFn: ({ signal }) => getSlides(params, signal),
    // Keep the old page on screen while the next filter result loads.
    placeholderData: keepPreviousData,
  });
}
