import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, paginated } from '@/lib/api';
import { tilingConfigSchema, tilingKeys } from './schemas';

export interface NewTilingConfig {
  name: string;
  description: string;
  params: {
    tile_size: number;
    target_mpp: number;
    stride: number | null;
    min_tissue_fraction: number;
    features: boolean;
  };
}

export function getTilingConfigs() {
  return api('/api/tiling-configs/', paginated(tilingConfigSchema), { params: { page_size: 200 } });
}

export function useTilingConfigs(enabled = true) {
  return useQuery({ queryKey: tilingKeys.configs, queryFn: getTilingConfigs, enabled });
}

export function createTilingConfig(body: NewTilingConfig) {
  return api('/api/tiling-configs/', tilingConfigSchema, { method: 'POST', body });
}

export function useCreateTilingConfig() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: createTilingConfig,
    onSuccess: () => queryClient.invalidateQueries({ queryKey: tilingKeys.configs }),
  });
}
