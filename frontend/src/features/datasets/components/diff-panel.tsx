import { useState } from 'react';
import { Link } from 'react-router-dom';
import { ErrorMessage } from '@/components/error-message';
import { Loading } from '@/components/loading';
import { paths } from '@/config/paths';
import { useDatasetDiff, useDatasets } from '../api/datasets';
import type { Dataset } from '../api/schemas';

const n = (v: number) => v.toLocaleString('en-US');

function SlideList({ ids }: { ids: Array<number | string> }) {
  if (ids.length === 0) return <span className="muted">none</span>;
  return (
    <>
      {ids.slice(0, 50).map((id) => (
        <Link key={id} to={paths.slide(id)} className="chip">
          #{id}
        </Link>
      ))}
      {ids.length > 50 && <span className="muted"> and {ids.length - 50} more</span>}
    </>
  );
}

/** This version against another built one: tiles and slides in or out, and how each cell moved. */
export function DiffPanel({ dataset }: { dataset: Dataset }) {
  const versions = useDatasets();
  const [other, setOther] = useState('');
  const otherId = other === '' ? null : Number(other);
  const diff = useDatasetDiff(dataset.id, otherId);
  const candidates = (versions.data ?? []).filter((v) => v.status === 'built' && v.id !== dataset.id);
  const otherName = candidates.find((v) => v.id === otherId)?.name ?? `#${otherId}`;

  return (
    <section className="panel" aria-label="Compare">
      <h2>Compare with another version</h2>
      <label className="inline-label">
        Other version
        <select value={other} onChange={(e) => setOther(e.target.value)} aria-label="Other version">
          <option value="">Choose a built version…</option>
          {candidates.map((v) => (
            <option key={v.id} value={String(v.id)}>
              #{v.id} {v.name}
            </option>
          ))}
        </select>
      </label>
      {versions.isSuccess && candidates.length === 0 && <p className="muted small">No other built version to compare with.</p>}
      {diff.isLoading && <Loading />}
      {diff.isError && <ErrorMessage error={diff.error} />}
      {diff.data && (
        <div className="diff" data-testid="diff">
          <div className="summary-bar">
            <span>
              <strong className="diff-added">+{n(diff.data.tiles_added)}</strong> tiles added
            </span>
            <span>
              <strong className="diff-removed">−{n(diff.data.tiles_removed)}</strong> tiles removed
            </span>
            <span>
              <strong>{n(diff.data.tiles_kept)}</strong> kept
            </span>
          </div>
          <dl className="meta-list wide">
            <dt>Slides added</dt>
            <dd data-testid="slides-added">
              <SlideList ids={diff.data.slides_added} />
            </dd>
            <dt>Slides removed</dt>
            <dd data-testid="slides-removed">
              <SlideList ids={diff.data.slides_removed} />
            </dd>
          </dl>
          {diff.data.cells.length > 0 && (
            <div className="table-wrap">
              <table className="data-table compact" aria-label="Changes per group and category">
                <thead>
                  <tr>
                    <th>Group</th>
                    <th>Category</th>
                    <th className="num">This (#{dataset.id})</th>
                    <th className="num">{otherName}</th>
                    <th className="num">Change</th>
                  </tr>
                </thead>
                <tbody>
                  {diff.data.cells.map((cell) => {
                    const delta = cell.b - cell.a;
                    return (
                      <tr key={`${cell.group}/${cell.category}`} data-testid="diff-cell">
                        <td>{cell.group}</td>
                        <td>{cell.category}</td>
                        <td className="num">{n(cell.a)}</td>
                        <td className="num">{n(cell.b)}</td>
                        <td className={`num ${delta > 0 ? 'diff-added' : delta < 0 ? 'diff-removed' : 'muted'}`}>
                          {delta > 0 ? '+' : delta < 0 ? '−' : '±'}
                          {n(Math.abs(delta))}
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
          )}
        </div>
      )}
    </section>
  );
}
