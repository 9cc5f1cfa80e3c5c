import { env } from '@/config/env';

/** Image URLs from the API are site-relative; prefix them when the API lives elsewhere. */
export function apiAssetUrl(url: string): string {
  return url.startsWith('/') ? `${env.apiUrl}${url}` : url;
}
