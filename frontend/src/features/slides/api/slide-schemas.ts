import { z } from 'zod';

export const slideStatusSchema = z.enum(['registered', 'failed', 'missing']);
export type SlideStatus = z.infer<typeof slideStatusSchema>;

// Unknown metadata arrives as null for slides OpenSlide could not read, hence the nullables.
const num = z.number().nullable().optional().transform((v) => v ?? null);
const str = z.string().nullable().optional().transform((v) => v ?? '');

export const REVIEW_STATUSES = ['untagged', 'tagged', 'reviewed', 'excluded'] as const;
export type ReviewStatus = (typeof REVIEW_STATUSES)[number];

/** One term on a slide; `created_by` is whatever the server names the tagger with (id or name). */
export const slideTagSchema = z.object({
  id: z.number(),
  term: z.number(),
  term_name: z.string(),
  category_key: z.string(),
  source: str,
  created_by: z.union([z.string(), z.number()]).nullable().optional().transform((v) => v ?? null),
  created_at: str,
});
export type SlideTag = z.infer<typeof slideTagSchema>;

export const slideSchema = z.object({
  id: z.number(),
  name: z.string(),
  root: z.number(),
  root_name: str,
  relative_path: z.string(),
  status: z.string(),
  failure_reason: str,
  vendor: str,
  width: num,
  height: num,
  level_count: num,
  mpp_x: num,
  mpp_y: num,
  objective_power: num,
  size_bytes: num,
  thumbnail_url: z.string().nullable().optional().transform((v) => v ?? null),
  created_at: str,
  updated_at: str,
  // Older servers (and slides listed before tagging existed) send neither field.
  tags: z.array(slideTagSchema).nullable().optional().transform((v) => v ?? []),
  review_status: z.string().nullable().optional().transform((v) => v ?? 'untagged'),
  review_reason: str,
});
export type Slide = z.infer<typeof slideSchema>;

export const associatedImageSchema = z.object({ name: z.string(), url: z.string() });
export type AssociatedImage = z.infer<typeof associatedImageSchema>;

export const slideDetailSchema = slideSchema.extend({
  fingerprint: str,
  level_dimensions: z.array(z.array(z.number())).nullable().optional().transform((v) => v ?? []),
  level_downsamples: z.array(z.number()).nullable().optional().transform((v) => v ?? []),
  properties: z
    .record(z.string(), z.unknown())
    .nullable()
    .optional()
    .transform((v) => Object.fromEntries(Object.entries(v ?? {}).map(([k, val]) => [k, String(val)]))),
  associated_images: z.array(associatedImageSchema).nullable().optional().transform((v) => v ?? []),
  dzi_url: str,
  last_seen_at: str,
});
export type SlideDetail = z.infer<typeof slideDetailSchema>;

const facetSchema = z.array(z.object({ value: z.string(), count: z.number() }));
export const facetsSchema = z.object({
  status: facetSchema.default([]),
  vendor: facetSchema.default([]),
});
export type Facets = z.infer<typeof facetsSchema>;

/** The DZI descriptor as JSON; OpenSeadragon's DziTileSource reads the `Image` key. */
export const dziSchema = z.object({
  Image: z
    .object({
      Url: z.string(),
      Format: z.string(),
      Overlap: z.union([z.string(), z.number()]),
      TileSize: z.union([z.string(), z.number()]),
      Size: z.object({ Width: z.union([z.string(), z.number()]), Height: z.union([z.string(), z.number()]) }),
    })
    .loose(),
  mpp: z
    .object({ x: z.number().nullable(), y: z.number().nullable() })
    .nullable()
    .optional()
    .transform((v) => v ?? { x: null, y: null }),
});
export type Dzi = z.infer<typeof dziSchema>;

export const slideKeys = {
  all: ['slides'] as const,
  list: (params: object) => ['slides', 'list', params] as const,
  facets: ['slides', 'facets'] as const,
  detail: (id: number) => ['slides', 'detail', id] as const,
  dzi: (id: number) => ['slides', 'dzi', id] as const,
  suggestions: (id: number) => ['slides', 'suggestions', id] as const,
  categories: ['slides', 'categories'] as const,
  groupOptions: ['slides', 'group-options'] as const,
};
