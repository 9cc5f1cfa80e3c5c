import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { z } from 'zod';
import { api, listOf } from '@/lib/api';

export const TOKEN_SCOPES = ['read', 'full'] as const;
export type TokenScope = (typeof TOKEN_SCOPES)[number];

export const tokenSchema = z.object({
  id: z.number(),
  name: z.string(),
  scope: z.string(),
  prefix: z.string().nullable().optional().transform((v) => v ?? ''),
  created_at: z.string().nullable().optional().transform((v) => v ?? ''),
  last_used_at: z.string().nullable().optional().transform((v) => v ?? null),
});
export type ApiToken = z.infer<typeof tokenSchema>;

/** The answer to POST: the token plus its key, which the server never shows again. */
export const createdTokenSchema = tokenSchema.extend({ key: z.string() });
export type CreatedToken = z.infer<typeof createdTokenSchema>;

export const tokenKeys = { all: ['tokens'] as const };

export function useTokens() {
  return useQuery({ queryKey: tokenKeys.all, queryFn: () => api('/api/tokens/', listOf(tokenSchema), { params: { page_size: 200 } }), staleTime: 0 });
}

export function useCreateToken() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: { name: string; scope: TokenScope }) => api('/api/tokens/', createdTokenSchema, { method: 'POST', body }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: tokenKeys.all }),
  });
}

export function useRevokeToken() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (id: number) => api(`/api/tokens/${id}/`, null, { method: 'DELETE' }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: tokenKeys.all }),
  });
}
