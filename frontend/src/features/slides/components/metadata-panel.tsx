import { Link } from 'react-router-dom';
import { paths } from '@/config/paths';
import { formatBytes, formatDateTime, formatDimensions, formatMpp, formatObjective } from '@/utils/format';
import type { SlideDetail } from '../api/slide-schemas';
import { AssociatedImages } from './associated-images';
import { PropertiesTable } from './properties-table';
import { StatusBadge } from './status-badge';
import { TagsPanel } from './tags-panel';

function Row({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <>
      <dt>{label}</dt>
      <dd>{children}</dd>
    </>
  );
}

export function MetadataPanel({ slide, canEdit }: { slide: SlideDetail; canEdit: boolean }) {
  const mpp =
    slide.mpp_x && slide.mpp_y && Math.abs(slide.mpp_x - slide.mpp_y) > 1e-6
      ? `${formatMpp(slide.mpp_x)} × ${formatMpp(slide.mpp_y)}`
      : formatMpp(slide.mpp_x);
  return (
    <aside className="metadata-panel" aria-label="Slide metadata">
      <h2 className="slide-title" title={slide.name}>
        {slide.name}
      </h2>
      <dl className="meta-list">
        <Row label="Status">
          <StatusBadge status={slide.status} />
        </Row>
        <Row label="Path">
          <span className="break">{slide.relative_path}</span>
        </Row>
        <Row label="Root">
          <Link to={`${paths.slides}?root=${slide.root}`}>{slide.root_name || `#${slide.root}`}</Link>
        </Row>
        <Row label="Vendor">{slide.vendor || '—'}</Row>
        <Row label="Dimensions">{formatDimensions(slide.width, slide.height)}</Row>
        <Row label="mpp">{mpp}</Row>
        <Row label="Objective">{formatObjective(slide.objective_power)}</Row>
        <Row label="Size">{formatBytes(slide.size_bytes)}</Row>
        <Row label="Fingerprint">
          <code className="break" title={slide.fingerprint}>
            {slide.fingerprint || '—'}
          </code>
        </Row>
        <Row label="Last seen">{formatDateTime(slide.last_seen_at)}</Row>
      </dl>

      <TagsPanel slide={slide} canEdit={canEdit} />

      <h3>Levels</h3>
      <table className="data-table compact">
        <thead>
          <tr>
            <th>#</th>
            <th>Dimensions</th>
            <th className="num">Downsample</th>
          </tr>
        </thead>
        <tbody>
          {slide.level_dimensions.map(([w, h], level) => (
            <tr key={level}>
              <td>{level}</td>
              <td>{formatDimensions(w, h)}</td>
              <td className="num">{slide.level_downsamples[level]?.toFixed(2) ?? '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>

      <h3>Associated images</h3>
      <AssociatedImages images={slide.associated_images} />

      <PropertiesTable properties={slide.properties} />
    </aside>
  );
}
