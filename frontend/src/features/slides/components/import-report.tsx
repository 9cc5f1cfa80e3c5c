import type { ImportReport as Report } from '../api/import-csv';

/** What the CSV import did, and each rejected row with its column and reason. */
export function ImportReport({ report }: { report: Report }) {
  return (
    <div className="import-report" data-testid="import-report">
      <p className={report.rejected ? 'failure-reason' : 'ok-message'}>
        {report.rejected
          ? `Nothing was applied: ${report.errors.length} problem${report.errors.length === 1 ? '' : 's'} found. Fix them, or tick “apply the valid rows”.`
          : `${report.applied_rows} row${report.applied_rows === 1 ? '' : 's'} applied${report.errors.length ? `, ${report.errors.length} skipped` : ''}.`}
      </p>
      {report.errors.length > 0 && (
        <div className="table-wrap">
          <table className="data-table compact" aria-label="Import errors">
            <thead>
              <tr>
                <th className="num">Row</th>
                <th>Column</th>
                <th>Problem</th>
              </tr>
            </thead>
            <tbody>
              {report.errors.map((e, i) => (
                <tr key={i} data-testid="import-error">
                  <td className="num">{e.row ?? '—'}</td>
                  <td>{e.column ? <code>{e.column}</code> : '—'}</td>
                  <td>{e.message}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
