/** Client-side routes, in one place so links and the router agree. */
export const paths = {
  login: '/login',
  slides: '/slides',
  slide: (id: number | string) => `/slides/${id}`,
  slideRoots: '/slide-roots',
  users: '/users',
  groups: '/groups',
  vocabulary: '/vocabulary',
  tagRules: '/tag-rules',
  audit: '/audit',
  tiling: '/tiling',
  tilingRun: (id: number | string) => `/tiling/runs/${id}`,
} as const;
