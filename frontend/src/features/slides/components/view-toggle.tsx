import type { SlideView } from '../hooks/use-slide-filters';

export function ViewToggle({ view, onChange }: { view: SlideView; onChange: (view: SlideView) => void }) {
  return (
    <div className="segmented" role="group" aria-label="View">
      <button type="button" aria-pressed={view === 'grid'} onClick={() => onChange('grid')}>
        Grid
      </button>
      <button type="button" aria-pressed={view === 'table'} onClick={() => onChange('table')}>
        Table
      </button>
    </div>
  );
}
