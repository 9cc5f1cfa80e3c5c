import { useState } from 'react';

/** A slide thumbnail that degrades to a neutral placeholder when the server has none (404). */
export function SlideThumbnail({ url, alt, className }: { url: string | null; alt: string; className?: string }) {
  const [failed, setFailed] = useState(false);
  if (!url || failed) {
    return (
      <div className={`thumb-placeholder ${className ?? ''}`} aria-label={`${alt} (no thumbnail)`}>
        no thumbnail
      </div>
    );
  }
  return <img className={className} src={url} alt={alt} loading="lazy" onError={() => setFailed(true)} />;
}
