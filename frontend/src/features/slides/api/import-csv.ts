import { useMutation, useQueryClient } from '@tanstack/react-query';
import { z } from 'zod';
import { api } from '@/lib/api';
import { isApiError } from '@/lib/api-error';
import { slideKeys } from './slide-schemas';

const importReportSchema = z.object({
  applied_rows: z.number().default(0),
  errors: z
    .array(
      z.object({
        row: z.number().nullable().optional().transform((v) => v ?? null),
        column: z.string().nullable().optional().transform((v) => v ?? ''),
        message: z.string(),
      }),
    )
    .default([]),
});
export type ImportReport = z.infer<typeof importReportSchema> & { rejected: boolean };

/**
 * Upload a tag CSV. A 400 that carries the per-row report means "nothing applied, here is
 * why" — a result to show, not a failure — so it resolves with `rejected: true`.
 */
export async function importCsv(file: File, applyValid: boolean): Promise<ImportReport> {
  const form = new FormData();
  form.append('file', file, file.name);
  form.append('apply_valid', applyValid ? 'true' : 'false');
  try {
    const report = await api('/api/slides/import/', importReportSchema, { method: 'POST', body: form });
    return { ...report, rejected: false };
  } catch (err) {
    if (isApiError(err, 400)) {
      const report = importReportSchema.safeParse(err.body);
      if (report.success && report.data.errors.length) return { ...report.data, rejected: true };
    }
    throw err;
  }
}

export function useImportCsv() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ file, applyValid }: { file: File; applyValid: boolean }) => importCsv(file, applyValid),
    onSuccess: (report) => {
      if (report.applied_rows > 0) queryClient.invalidateQueries({ queryKey: slideKeys.all });
    },
  });
}
