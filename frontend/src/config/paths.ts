/** Client-side routes, in one place so links and the router agree. */
export const paths = {
  login: '/login',
  slides: '/slides',
  slide: (id: number | string) => `/slides/${id}`,
  /** The viewer zoomed to a level-0 square (x, y top-left, side `size`), outlined. */
  slideAt: (id: number | string, at: { x: number; y: number; size: number }) =>
    `/slides/${id}?x=${Math.round(at.x)}&y=${Math.round(at.y)}&size=${Math.round(at.size)}`,
  slideRoots: '/slide-roots',
  users: '/users',
  groups: '/groups',
  vocabulary: '/vocabulary',
  tagRules: '/tag-rules',
  audit: '/audit',
  tiling: '/tiling',
  tilingRun: (id: number | string) => `/tiling/runs/${id}`,
  clusters: '/clusters',
  clusterCategories: '/clusters/categories',
  clusterRun: (id: number | string, cluster?: number) => `/clusters/runs/${id}${cluster === undefined ? '' : `?cluster=${cluster}`}`,
  datasets: '/datasets',
  dataset: (id: number | string) => `/datasets/${id}`,
  training: '/training',
  trainingRun: (id: number | string) => `/training/runs/${id}`,
  accountTokens: '/account/tokens',
} as const;
