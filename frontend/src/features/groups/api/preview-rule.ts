import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { z } from 'zod';
import { api } from '@/lib/api';
import { groupKeys } from './schemas';

const previewSchema = z.object({ slide_count: z.number() });

export function previewRule(rule: string, signal?: AbortSignal) {
  return api('/api/groups/preview/', previewSchema, { method: 'POST', body: { rule }, signal });
}

/** Live count for a rule being typed; pass the debounced text. A 400 carries the parse error. */
export function useRulePreview(rule: string) {
  return useQuery({
    queryKey: groupKeys.preview(rule),
    queryFn: ({ signal }) => previewRule(rule, signal),
    enabled: rule.trim() !== '',
    retry: false,
    // Keep the last count on screen while the next one is computed.
    placeholderData: keepPreviousData,
  });
}
