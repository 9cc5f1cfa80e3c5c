import { ErrorMessage } from '@/components/error-message';
import { useCategories } from '../api/get-categories';
import { useGroupOptions } from '../api/get-group-options';
import { REVIEW_STATUSES } from '../api/slide-schemas';
import type { SlideFilters as Filters } from '../hooks/use-slide-filters';
import { TermChecklist } from './term-checklist';

interface Props {
  filters: Filters;
  update: (patch: Partial<Filters>) => void;
}

function toggled(list: string[], value: string): string[] {
  return list.includes(value) ? list.filter((v) => v !== value) : [...list, value];
}

/** Filters over the pathologists' knowledge: review state, groups, and terms per category. */
export function KnowledgeFilters({ filters, update }: Props) {
  const categories = useCategories();
  const groups = useGroupOptions();

  return (
    <>
      <fieldset className="filter-group">
        <legend>Review</legend>
        {REVIEW_STATUSES.map((status) => (
          <label key={status} className="check">
            <input
              type="checkbox"
              checked={filters.review_status.includes(status)}
              onChange={() => update({ review_status: toggled(filters.review_status, status) })}
            />
            {status}
          </label>
        ))}
      </fieldset>

      <div className="filter-group">
        <label htmlFor="slide-group">Group</label>
        {groups.isError && <ErrorMessage error={groups.error} />}
        <select id="slide-group" value={filters.group} onChange={(e) => update({ group: e.target.value })}>
          <option value="">Any group</option>
          {(groups.data?.results ?? []).map((g) => (
            <option key={g.id} value={String(g.id)}>
              {g.name}
            </option>
          ))}
          {filters.group && !groups.data?.results.some((g) => String(g.id) === filters.group) && (
            <option value={filters.group}>Group #{filters.group}</option>
          )}
        </select>
        <label className="check">
          <input
            type="checkbox"
            checked={filters.groups === 'none'}
            onChange={() => update({ groups: filters.groups === 'none' ? '' : 'none' })}
          />
          in no group
        </label>
        <label className="check">
          <input
            type="checkbox"
            checked={filters.groups === 'multiple'}
            onChange={() => update({ groups: filters.groups === 'multiple' ? '' : 'multiple' })}
          />
          in several groups
        </label>
      </div>

      {categories.isError && <ErrorMessage error={categories.error} />}
      <TermChecklist
        idPrefix="term-filter"
        categories={categories.data ?? []}
        includeInactive
        selected={filters.term.map(Number)}
        onChange={(ids) => update({ term: ids.map(String) })}
      />
    </>
  );
}
