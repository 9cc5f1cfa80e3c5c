import { Link } from 'react-router-dom';
import { paths } from '@/config/paths';
import type { Slide } from '../api/slide-schemas';
import { FailureReason, SlideMetaLine } from './slide-meta-line';
import { SlideThumbnail } from './slide-thumbnail';
import { ReviewBadge } from './review-badge';
import { StatusBadge } from './status-badge';
import { TagChips } from './tag-chips';

interface Props {
  slides: Slide[];
  selected: ReadonlySet<number>;
  onToggle: (id: number) => void;
}

export function SlideGrid({ slides, selected, onToggle }: Props) {
  return (
    <ul className="slide-grid" aria-label="Slides">
      {slides.map((slide) => (
        <li
          key={slide.id}
          className={`slide-card ${selected.has(slide.id) ? 'is-selected' : ''} status-${slide.status}`}
          data-testid="slide-item"
        >
          <input
            type="checkbox"
            className="card-check"
            aria-label={`Select ${slide.name}`}
            checked={selected.has(slide.id)}
            onChange={() => onToggle(slide.id)}
          />
          <Link to={paths.slide(slide.id)} className="card-link">
            <SlideThumbnail url={slide.thumbnail_url} alt={slide.name} className="card-thumb" />
            <span className="card-name" title={slide.relative_path}>
              {slide.name}
            </span>
          </Link>
          <SlideMetaLine slide={slide} />
          <div className="card-tags">
            <ReviewBadge status={slide.review_status} reason={slide.review_reason} />
            <TagChips tags={slide.tags} max={3} />
          </div>
          {slide.status !== 'registered' && (
            <div className="card-status">
              <StatusBadge status={slide.status} />
              <FailureReason slide={slide} />
            </div>
          )}
        </li>
      ))}
    </ul>
  );
}
