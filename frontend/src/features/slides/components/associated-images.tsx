import { useEffect, useState } from 'react';
import type { AssociatedImage } from '../api/slide-schemas';
import { SlideThumbnail } from './slide-thumbnail';

/** Label, macro and other associated images; a click shows one large. */
export function AssociatedImages({ images }: { images: AssociatedImage[] }) {
  const [open, setOpen] = useState<AssociatedImage | null>(null);

  useEffect(() => {
    if (!open) return undefined;
    const onKey = (e: KeyboardEvent) => e.key === 'Escape' && setOpen(null);
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [open]);

  if (images.length === 0) return <p className="muted">No associated images.</p>;
  return (
    <>
      <ul className="associated-list">
        {images.map((image) => (
          <li key={image.name}>
            <button type="button" className="associated-thumb" onClick={() => setOpen(image)} title={`Show ${image.name}`}>
              <SlideThumbnail url={image.url} alt={image.name} />
              <span>{image.name}</span>
            </button>
          </li>
        ))}
      </ul>
      {open && (
        <div className="lightbox" role="dialog" aria-modal="true" aria-label={open.name} onClick={() => setOpen(null)}>
          <figure onClick={(e) => e.stopPropagation()}>
            <img src={open.url} alt={open.name} />
            <figcaption>
              {open.name}
              <button type="button" className="btn btn-small" onClick={() => setOpen(null)}>
                Close
              </button>
            </figcaption>
          </figure>
        </div>
      )}
    </>
  );
}
