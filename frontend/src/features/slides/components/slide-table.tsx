import { Link } from 'react-router-dom';
import { paths } from '@/config/paths';
import { formatBytes, formatDimensions, formatMpp, formatObjective } from '@/utils/format';
import type { Slide } from '../api/slide-schemas';
import { FailureReason } from './slide-meta-line';
import { SlideThumbnail } from './slide-thumbnail';
import { ReviewBadge } from './review-badge';
import { StatusBadge } from './status-badge';
import { TagChips } from './tag-chips';

interface Props {
  slides: Slide[];
  selected: ReadonlySet<number>;
  onToggle: (id: number) => void;
  allOnPageSelected: boolean;
  onToggleAllOnPage: () => void;
}

export function SlideTable({ slides, selected, onToggle, allOnPageSelected, onToggleAllOnPage }: Props) {
  return (
    <div className="table-wrap">
      <table className="data-table slide-table" aria-label="Slides">
        <thead>
          <tr>
            <th className="col-check">
              <input
                type="checkbox"
                aria-label="Select all on page (table)"
                checked={allOnPageSelected}
                onChange={onToggleAllOnPage}
              />
            </th>
            <th />
            <th>Name</th>
            <th>Path</th>
            <th>Root</th>
            <th>Status</th>
            <th>Review</th>
            <th>Tags</th>
            <th>Vendor</th>
            <th>Dimensions</th>
            <th>mpp</th>
            <th>Obj.</th>
            <th className="num">Size</th>
          </tr>
        </thead>
        <tbody>
          {slides.map((slide) => (
            <tr key={slide.id} data-testid="slide-item" className={selected.has(slide.id) ? 'is-selected' : ''}>
              <td className="col-check">
                <input
                  type="checkbox"
                  aria-label={`Select ${slide.name}`}
                  checked={selected.has(slide.id)}
                  onChange={() => onToggle(slide.id)}
                />
              </td>
              <td className="col-thumb">
                <SlideThumbnail url={slide.thumbnail_url} alt={slide.name} className="row-thumb" />
              </td>
              <td>
                <Link to={paths.slide(slide.id)}>{slide.name}</Link>
              </td>
              <td className="path-cell" title={slide.relative_path}>
                {slide.relative_path}
              </td>
              <td>{slide.root_name || slide.root}</td>
              <td>
                <StatusBadge status={slide.status} />
                <FailureReason slide={slide} />
              </td>
              <td>
                <ReviewBadge status={slide.review_status} reason={slide.review_reason} />
              </td>
              <td className="tags-cell">
                <TagChips tags={slide.tags} />
              </td>
              <td>{slide.vendor || '—'}</td>
              <td>{formatDimensions(slide.width, slide.height)}</td>
              <td>{formatMpp(slide.mpp_x)}</td>
              <td>{formatObjective(slide.objective_power)}</td>
              <td className="num">{formatBytes(slide.size_bytes)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
