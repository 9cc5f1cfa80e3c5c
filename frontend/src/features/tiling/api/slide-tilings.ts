import { useQuery } from '@tanstack/react-query';
import { z } from 'zod';
import { api } from '@/lib/api';
import { isActive, slideTilingSchema, tileGridSchema, tilingKeys } from './schemas';

const SLIDE_TILINGS_POLL_MS = 5000;

export function getSlideTilings(slideId: number) {
  return api(`/api/slides/${slideId}/tilings/`, z.array(slideTilingSchema));
}

/** One tiling per configuration; refreshed while one of them is still being computed. */
export function useSlideTilings(slideId: number) {
  return useQuery({
    queryKey: tilingKeys.slideTilings(slideId),
    queryFn: () => getSlideTilings(slideId),
    refetchInterval: (q) => (q.state.data?.some((t) => isActive(t.status)) ? SLIDE_TILINGS_POLL_MS : false),
  });
}

export function getTileGrid(tilingId: number) {
  return api(`/api/slide-tilings/${tilingId}/grid/`, tileGridSchema);
}

export function useTileGrid(tilingId: number | null) {
  return useQuery({
    queryKey: tilingKeys.grid(tilingId ?? 0),
    queryFn: () => getTileGrid(tilingId as number),
    enabled: tilingId !== null,
    // A finished tiling's grid never changes.
    staleTime: Infinity,
  });
}
