import { useState } from 'react';
import { Link } from 'react-router-dom';
import { ErrorMessage } from '@/components/error-message';
import { Loading } from '@/components/loading';
import { paths } from '@/config/paths';
import { useDeleteSemanticCategory, useSemanticCategories } from '../api/categories';
import type { SemanticCategory } from '../api/schemas';
import { SemanticCategoryForm } from './category-form';

function CategoryRow({ category, canEdit }: { category: SemanticCategory; canEdit: boolean }) {
  const [editing, setEditing] = useState(false);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const remove = useDeleteSemanticCategory();
  if (editing) {
    return (
      <tr className="sub-row">
        <td colSpan={canEdit ? 7 : 6}>
          <SemanticCategoryForm category={category} onDone={() => setEditing(false)} />
        </td>
      </tr>
    );
  }
  return (
    <tr data-testid="semantic-category-row" data-name={category.name}>
      <td>
        <span className="swatch" style={{ background: category.colour }} aria-label={`colour ${category.colour}`} />
      </td>
      <td>
        <strong>{category.name}</strong>
      </td>
      <td>{category.shortcut ? <kbd>{category.shortcut}</kbd> : <span className="muted">—</span>}</td>
      <td className="num">{category.default_weight}</td>
      <td>{category.description}</td>
      <td className="num">{category.cluster_count}</td>
      {canEdit && (
        <td className="row-actions">
          <button type="button" className="btn btn-small" onClick={() => setEditing(true)}>
            Edit
          </button>
          {confirmDelete ? (
            <>
              <button
                type="button"
                className="btn btn-small btn-danger"
                disabled={remove.isPending}
                onClick={() => remove.mutate(category.id, { onSettled: () => setConfirmDelete(false) })}
              >
                Really delete
              </button>
              <button type="button" className="btn btn-small" onClick={() => setConfirmDelete(false)}>
                Keep
              </button>
            </>
          ) : (
            <button type="button" className="btn btn-small" onClick={() => setConfirmDelete(true)}>
              Delete
            </button>
          )}
          {remove.isError && <ErrorMessage error={remove.error} />}
        </td>
      )}
    </tr>
  );
}

/** The semantic categories clusters are named with. `canEdit`: admin and pathologist. */
export function SemanticCategoriesPage({ canEdit = false }: { canEdit?: boolean }) {
  const categories = useSemanticCategories();
  return (
    <div className="page">
      <Link to={paths.clusters}>← Clusters</Link>
      <h1>Semantic categories</h1>
      <p className="muted">The names a reviewer gives clusters, with the colour they are drawn in, the sampling weight and the key that assigns them.</p>
      {canEdit && <SemanticCategoryForm />}
      {categories.isLoading && <Loading />}
      {categories.isError && <ErrorMessage error={categories.error} onRetry={() => categories.refetch()} />}
      {categories.data && (
        <div className="table-wrap">
          <table className="data-table" aria-label="Semantic categories">
            <thead>
              <tr>
                <th>Colour</th>
                <th>Name</th>
                <th>Key</th>
                <th className="num">Default weight</th>
                <th>Description</th>
                <th className="num">Clusters</th>
                {canEdit && <th />}
              </tr>
            </thead>
            <tbody>
              {categories.data.map((c) => (
                <CategoryRow key={c.id} category={c} canEdit={canEdit} />
              ))}
              {categories.data.length === 0 && (
                <tr>
                  <td colSpan={canEdit ? 7 : 6} className="muted">
                    No categories yet.
                  </td>
                </tr>
              )}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
