import { useCallback, useMemo } from 'react';
import { useSearchParams } from 'react-router-dom';
import type { SlideListParams } from '../api/get-slides';

/**
 * The slide browser's whole state lives in the URL query string, so a link reproduces the
 * view and the back button steps through filter changes. Names match the API's parameters.
 */
export type SlideView = 'grid' | 'table';

export interface SlideFilters {
  search: string;
  status: string[];
  vendor: string[];
  mpp_min: string;
  mpp_max: string;
  root: string;
  /** Term ids; a slide must carry every one. */
  term: string[];
  review_status: string[];
  group: string;
  /** '' (any), 'none' (in no group) or 'multiple' (in more than one). */
  groups: string;
  ordering: string;
  page: number;
  page_size: number;
  view: SlideView;
}

export const DEFAULT_PAGE_SIZE = 50;
export const DEFAULT_ORDERING = 'name';

const MULTI_KEYS = ['status', 'vendor', 'term', 'review_status'] as const;
const SINGLE_KEYS = ['mpp_min', 'mpp_max', 'root', 'group', 'groups'] as const;

function positiveInt(value: string | null, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number(value);
  return Number.isInteger(n) && n > 0 ? Math.min(n, max) : fallback;
}

export function filtersFromSearchParams(sp: URLSearchParams): SlideFilters {
  return {
    search: sp.get('search') ?? '',
    status: sp.getAll('status'),
    vendor: sp.getAll('vendor'),
    mpp_min: sp.get('mpp_min') ?? '',
    mpp_max: sp.get('mpp_max') ?? '',
    root: sp.get('root') ?? '',
    term: sp.getAll('term'),
    review_status: sp.getAll('review_status'),
    group: sp.get('group') ?? '',
    groups: sp.get('groups') === 'none' || sp.get('groups') === 'multiple' ? (sp.get('groups') as string) : '',
    ordering: sp.get('ordering') ?? DEFAULT_ORDERING,
    page: positiveInt(sp.get('page'), 1),
    page_size: positiveInt(sp.get('page_size'), DEFAULT_PAGE_SIZE, 200),
    view: sp.get('view') === 'table' ? 'table' : 'grid',
  };
}

/** Defaults are left out so that the plain /slides URL stays plain. */
export function searchParamsFromFilters(f: SlideFilters): URLSearchParams {
  const sp = new URLSearchParams();
  if (f.search) sp.set('search', f.search);
  for (const key of MULTI_KEYS) f[key].forEach((v) => sp.append(key, v));
  for (const key of SINGLE_KEYS) if (f[key]) sp.set(key, f[key]);
  if (f.ordering && f.ordering !== DEFAULT_ORDERING) sp.set('ordering', f.ordering);
  if (f.page > 1) sp.set('page', String(f.page));
  if (f.page_size !== DEFAULT_PAGE_SIZE) sp.set('page_size', String(f.page_size));
  if (f.view !== 'grid') sp.set('view', f.view);
  return sp;
}

export function apiParamsFromFilters(f: SlideFilters): SlideListParams {
  return {
    search: f.search.trim() || undefined,
    status: f.status.length ? f.status : undefined,
    vendor: f.vendor.length ? f.vendor : undefined,
    mpp_min: f.mpp_min || undefined,
    mpp_max: f.mpp_max || undefined,
    root: f.root || undefined,
    term: f.term.length ? f.term : undefined,
    review_status: f.review_status.length ? f.review_status : undefined,
    group: f.group || undefined,
    groups: f.groups || undefined,
    ordering: f.ordering || undefined,
    page: f.page,
    page_size: f.page_size,
  };
}

export function useSlideFilters() {
  const [searchParams, setSearchParams] = useSearchParams();
  const filters = useMemo(() => filtersFromSearchParams(searchParams), [searchParams]);

  /**
   * Any change other than paging or the view goes back to page 1, since the old page number
   * may not exist in the new result. `replace` is for keystroke-driven changes (search).
   */
  const update = useCallback(
    (patch: Partial<SlideFilters>, opts: { replace?: boolean } = {}) => {
      setSearchParams(
        (prev) => {
          const current = filtersFromSearchParams(prev);
          const resetsPage = Object.keys(patch).some((k) => k !== 'page' && k !== 'view');
          const next = { ...current, ...(resetsPage ? { page: 1 } : {}), ...patch };
          return searchParamsFromFilters(next);
        },
        { replace: opts.replace },
      );
    },
    [setSearchParams],
  );

  const clear = useCallback(() => {
    setSearchParams((prev) => {
      const current = filtersFromSearchParams(prev);
      return searchParamsFromFilters({
        ...filtersFromSearchParams(new URLSearchParams()),
        view: current.view,
        page_size: current.page_size,
      });
    });
  }, [setSearchParams]);

  return { filters, apiParams: useMemo(() => apiParamsFromFilters(filters), [filters]), update, clear };
}
