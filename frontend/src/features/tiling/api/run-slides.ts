import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { z } from 'zod';
import { api, paginated } from '@/lib/api';
import { RUN_POLL_MS } from './runs';
import { galleryTileSchema, slideTilingSchema, tilingKeys } from './schemas';

export interface RunSlidesParams {
  status?: string;
  page: number;
  page_size: number;
}

export function getRunSlides(runId: number, params: RunSlidesParams) {
  return api(`/api/tiling-runs/${runId}/slides/`, paginated(slideTilingSchema), { params: { ...params } });
}

/** `live`: the run is still going, so per-slide progress keeps changing. */
export function useRunSlides(runId: number, params: RunSlidesParams, live: boolean) {
  return useQuery({
    queryKey: tilingKeys.runSlides(runId, { ...params }),
    queryFn: () => getRunSlides(runId, params),
    staleTime: 0,
    placeholderData: keepPreviousData,
    refetchInterval: live ? RUN_POLL_MS : false,
  });
}

export function getGallery(runId: number, n = 24) {
  return api(`/api/tiling-runs/${runId}/gallery/`, z.array(galleryTileSchema), { params: { n } });
}

export function useGallery(runId: number) {
  return useQuery({ queryKey: tilingKeys.gallery(runId), queryFn: () => getGallery(runId) });
}
