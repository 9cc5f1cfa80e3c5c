import { z } from 'zod';

/**
 * Build-time settings, validated once at start-up so that a bad value fails loudly here
 * instead of as a puzzling request error later.
 */
const envSchema = z.object({
  // Empty: the API is served by the same origin as the app (Django, or Vite's dev proxy).
  VITE_API_URL: z
    .string()
    .default('')
    .refine((v) => v === '' || /^https?:\/\//.test(v), 'VITE_API_URL must be empty or an http(s) URL'),
  VITE_API_DOCS_URL: z.string().default('/api/docs/'),
});

const parsed = envSchema.parse({
  VITE_API_URL: import.meta.env.VITE_API_URL || undefined,
  VITE_API_DOCS_URL: import.meta.env.VITE_API_DOCS_URL || undefined,
});

export const env = {
  apiUrl: parsed.VITE_API_URL.replace(/\/$/, ''),
  apiDocsUrl: parsed.VITE_API_DOCS_URL,
} as const;
