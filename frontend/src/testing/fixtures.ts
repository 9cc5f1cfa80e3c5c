/** Plausible API answers, shaped exactly as docs/api.md describes them. */
export const users = {
  admin: { id: 1, username: 'ada', full_name: 'Ada Admin', role: 'admin', is_active: true },
  pathologist: { id: 2, username: 'paula', full_name: 'Paula Path', role: 'pathologist', is_active: true },
  viewer: { id: 3, username: 'vic', full_name: '', role: 'viewer', is_active: true },
} as const;

export type FixtureUser = (typeof users)[keyof typeof users];

export function makeSlide(id: number, overrides: Record<string, unknown> = {}) {
  return {
    id,
    name: `slide-${id}.svs`,
    root: 1,
    root_name: 'archive',
    relative_path: `lab_a/slide-${id}.svs`,
    status: 'registered',
    failure_reason: '',
    vendor: 'aperio',
    width: 46000,
    height: 32914,
    level_count: 3,
    mpp_x: 0.499,
    mpp_y: 0.499,
    objective_power: 20.0,
    size_bytes: 177552579,
    thumbnail_url: `/api/slides/${id}/thumbnail/`,
    created_at: '2024-05-01T10:00:00Z',
    updated_at: '2024-05-01T10:00:00Z',
    ...overrides,
  };
}

export function makeSlideDetail(id: number, overrides: Record<string, unknown> = {}) {
  return {
    ...makeSlide(id),
    fingerprint: 'sha256:abc123',
    level_dimensions: [
      [46000, 32914],
      [11500, 8228],
      [2875, 2057],
    ],
    level_downsamples: [1, 4, 16],
    properties: { 'openslide.vendor': 'aperio', 'openslide.mpp-x': '0.499', 'aperio.AppMag': '20' },
    associated_images: [
      { name: 'label', url: `/api/slides/${id}/associated/label/` },
      { name: 'macro', url: `/api/slides/${id}/associated/macro/` },
    ],
    dzi_url: `/api/slides/${id}/dzi.json`,
    last_seen_at: '2024-05-02T10:00:00Z',
    ...overrides,
  };
}

export function makeDzi(id: number, mpp: number | null = 0.499) {
  return {
    Image: {
      xmlns: 'http://schemas.microsoft.com/deepzoom/2008',
      Url: `/api/slides/${id}/dzi_files/`,
      Format: 'jpeg',
      Overlap: '1',
      TileSize: '254',
      Size: { Width: '46000', Height: '32914' },
    },
    mpp: { x: mpp, y: mpp },
  };
}

export const facets = {
  status: [
    { value: 'registered', count: 3 },
    { value: 'failed', count: 1 },
    { value: 'missing', count: 0 },
  ],
  vendor: [
    { value: 'aperio', count: 2 },
    { value: 'generic-tiff', count: 2 },
  ],
};

export const defaultSlides = [
  makeSlide(1, { name: 'CMU-1.svs' }),
  makeSlide(2, { name: 'CMU-2.svs' }),
  makeSlide(3, { name: 'liver.tiff', vendor: 'generic-tiff', mpp_x: null, mpp_y: null }),
  makeSlide(4, {
    name: 'broken.svs',
    status: 'failed',
    failure_reason: 'OpenSlide could not read the file: unsupported format',
    vendor: '',
    width: null,
    height: null,
    mpp_x: null,
  }),
];

export function page<T>(results: T[], count = results.length) {
  return { count, next: null, previous: null, results };
}

export function makeTerm(id: number, categoryKey: string, categoryId: number, name: string, overrides: Record<string, unknown> = {}) {
  return { id, category: categoryId, category_key: categoryKey, name, code: '', synonyms: [] as string[], active: true, ...overrides };
}

/** A small vocabulary: `stain` is single-valued, `tissue` multi-valued. */
export function makeCategories() {
  return [
    {
      id: 1,
      key: 'stain',
      name: 'Stain',
      description: '',
      multi_valued: false,
      order: 1,
      terms: [makeTerm(10, 'stain', 1, 'H&E', { synonyms: ['HE'] }), makeTerm(11, 'stain', 1, 'PAS'), makeTerm(12, 'stain', 1, 'Giemsa', { active: false })],
    },
    {
      id: 2,
      key: 'tissue',
      name: 'Tissue',
      description: '',
      multi_valued: true,
      order: 2,
      terms: [makeTerm(20, 'tissue', 2, 'colon'), makeTerm(21, 'tissue', 2, 'liver')],
    },
  ];
}

export function makeTag(id: number, term: { id: number; name: string; category_key: string }, overrides: Record<string, unknown> = {}) {
  return {
    id,
    term: term.id,
    term_name: term.name,
    category_key: term.category_key,
    source: 'manual',
    created_by: 'paula',
    created_at: '2024-06-01T09:00:00Z',
    ...overrides,
  };
}

export function makeGroup(id: number, overrides: Record<string, unknown> = {}) {
  return {
    id,
    name: `group-${id}`,
    description: '',
    weight: 1,
    kind: 'rule',
    rule: 'stain = "H&E"',
    slide_count: 2,
    created_at: '2024-06-01T09:00:00Z',
    updated_at: '2024-06-01T09:00:00Z',
    ...overrides,
  };
}

export function makeTilingConfig(id: number, overrides: Record<string, unknown> = {}) {
  return {
    id,
    name: `256px @ 0.5 #${id}`,
    description: '',
    params: { tile_size: 256, target_mpp: 0.5, stride: null, min_tissue_fraction: 0.5, features: true, tissue: {} },
    key: `t256-m0.5-${id}`,
    created_at: '2024-06-01T09:00:00Z',
    ...overrides,
  };
}

export function makeTilingRun(id: number, overrides: Record<string, unknown> = {}) {
  return {
    id,
    config: 1,
    config_name: '256px @ 0.5 #1',
    status: 'succeeded',
    selection: {},
    total: 4,
    done: 3,
    failed: 1,
    skipped: 0,
    tile_count: 1200,
    created_at: '2024-06-01T09:00:00Z',
    started_at: '2024-06-01T09:00:01Z',
    finished_at: '2024-06-01T09:10:00Z',
    ...overrides,
  };
}

export function makeSlideTiling(id: number, overrides: Record<string, unknown> = {}) {
  return {
    id,
    slide: 1,
    slide_name: 'CMU-1.svs',
    config: 1,
    config_name: '256px @ 0.5 #1',
    run: 1,
    status: 'done',
    error: '',
    tile_count: 400,
    tissue_area_mm2: 12.5,
    tiles_done: 400,
    tiles_total: 400,
    seconds: 31.2,
    mask_url: `/api/slide-tilings/${id}/mask.png`,
    updated_at: '2024-06-01T09:05:00Z',
    finished_at: '2024-06-01T09:05:00Z',
    ...overrides,
  };
}

/** The seeded semantic categories (docs/clustering.md), shortcuts 1–9. */
export function makeSemanticCategories() {
  const seeded: Array<[string, string, number]> = [
    ['Tumour', '#d62728', 1.0],
    ['Stroma', '#e377c2', 1.0],
    ['Immune cells', '#1f77b4', 1.0],
    ['Necrosis', '#8c564b', 1.0],
    ['Mucus', '#17becf', 1.0],
    ['Fat', '#bcbd22', 0.5],
    ['Blood', '#ff9896', 0.5],
    ['Normal epithelium', '#2ca02c', 1.0],
    ['Muscle', '#9467bd', 1.0],
  ];
  return seeded.map(([name, colour, weight], i) => ({
    id: i + 1,
    name,
    colour,
    default_weight: weight,
    shortcut: String(i + 1),
    description: '',
    position: i + 1,
    cluster_count: 0,
  }));
}

export function makeClusterRun(id: number, overrides: Record<string, unknown> = {}) {
  return {
    id,
    name: `Colour k=4 #${id}`,
    config: 1,
    config_name: '256px @ 0.5 #1',
    feature_kind: 'colour',
    embedding_model: null,
    params: { k: 4, per_slide: 500, iterations: 25, restarts: 1, spherical: false, method: 'flat', levels: [], seed: 0 },
    selection: { slides: [], group: null },
    status: 'succeeded',
    phase: 'done',
    progress_done: 6,
    progress_total: 6,
    message: '',
    error: '',
    device: 'cpu',
    slide_count: 2,
    tile_count: 4000,
    inertia: 1.23,
    locked: false,
    locked_by: null as string | null,
    locked_at: null as string | null,
    review: { total: 4, reviewed: 0, accepted: 0, rejected: 0, merged: 0, disagreements: 0 },
    created_by: 'ada',
    created_at: '2024-06-02T09:00:00Z',
    started_at: '2024-06-02T09:00:01Z',
    finished_at: '2024-06-02T09:05:00Z',
    ...overrides,
  };
}

export function makeCluster(id: number, index: number, overrides: Record<string, unknown> = {}) {
  return {
    id,
    run: 3,
    index,
    size: 1000 + index,
    share: 0.25,
    slide_count: 2,
    status: 'unreviewed',
    category: null as number | null,
    category_name: '',
    category_colour: '',
    reject_reason: '',
    weight: null as number | null,
    note: '',
    merged_into: null as number | null,
    version: 1,
    reviewed_by: null as string | null,
    reviewed_at: null as string | null,
    map_x: index / 4,
    map_y: -index / 4,
    quality: { pixel_tissue_fraction: 0.8, sharpness: 12.0, pen_score: 0.0, white_score: 0.1 },
    montage_url: `/api/clusters/${id}/montage.jpg?kind=representative`,
    ...overrides,
  };
}

export function makeTileRef(slide: number, index: number, overrides: Record<string, unknown> = {}) {
  return {
    slide,
    slide_name: `slide-${slide}.svs`,
    tiling: 5,
    index,
    x: 512 * (index % 10),
    y: 512 * Math.floor(index / 10),
    size: 512.0,
    distance: 0.12,
    url: `/api/slide-tilings/5/tiles/${index}.jpg`,
    ...overrides,
  };
}

export function makeClusterDetail(cluster: ReturnType<typeof makeCluster>) {
  const base = cluster.index * 100;
  return {
    ...cluster,
    exemplars: {
      representative: [makeTileRef(12, base + 1), makeTileRef(12, base + 2)],
      boundary: [makeTileRef(13, base + 3)],
      random: [makeTileRef(13, base + 4)],
    },
    composition: {
      slide: [{ key: '12', label: 'slide-12.svs', count: 600, share: 0.6 }, { key: '13', label: 'slide-13.svs', count: 400, share: 0.4 }],
      group: [{ key: '1', label: 'H&E slides', count: 1000, share: 1.0 }],
      lab: [],
      scanner: [{ key: 'aperio', label: 'aperio', count: 1000, share: 1.0 }],
      stain: [],
    },
  };
}

export function makeRecipe(overrides: Record<string, unknown> = {}) {
  return {
    groups: [{ group: 1, weight: 2.0 }],
    categories: [
      { category: 1, weight: null as number | null },
      { category: 2, weight: 1.0 },
    ],
    include_unreviewed: false,
    budget: 1000,
    per_slide_cap: 200,
    quality: { min_tissue_fraction: 0.5, min_sharpness: null as number | null, max_pen_score: 0.1 },
    split: { by: 'slide', validation_fraction: 0.1 },
    seed: 0,
    ...overrides,
  };
}

/** A DatasetVersion as docs/datasets.md shapes it; `status: 'built'` fills the build fields. */
export function makeDataset(id: number, overrides: Record<string, unknown> = {}) {
  const built = overrides.status === 'built';
  return {
    id,
    name: `colon H&E v${id}`,
    status: 'draft',
    cluster_run: 3,
    cluster_run_name: 'Colour k=4 #3',
    recipe: makeRecipe(),
    parent: null as number | null,
    checksum: built ? `${'ab12cd34ef56'}${'0'.repeat(52)}` : '',
    row_count: built ? 1000 : 0,
    progress_done: 0,
    progress_total: 0,
    message: '',
    error: '',
    shortfall: 0,
    created_by: 'paula',
    created_at: '2024-07-01T09:00:00Z',
    built_by: built ? 'paula' : null,
    built_at: built ? '2024-07-01T09:10:00Z' : null,
    manifest: built
      ? { parquet: `/api/datasets/${id}/manifest.parquet`, csv: `/api/datasets/${id}/manifest.csv`, jsonl: `/api/datasets/${id}/manifest.jsonl` }
      : null,
    ...overrides,
  };
}

export function makeToken(id: number, overrides: Record<string, unknown> = {}) {
  return { id, name: `token ${id}`, scope: 'read', prefix: `rv_ab${id}`, created_at: '2024-07-02T09:00:00Z', last_used_at: null as string | null, ...overrides };
}
