import { useState, type FormEvent } from 'react';
import { ErrorMessage } from '@/components/error-message';
import { useImportCsv } from '../api/import-csv';
import { ImportReport } from './import-report';

/** Upload a tag CSV (the export's columns); the server checks every row first. */
export function CsvImportForm({ onClose }: { onClose: () => void }) {
  const [file, setFile] = useState<File | null>(null);
  const [applyValid, setApplyValid] = useState(false);
  const upload = useImportCsv();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (file) upload.mutate({ file, applyValid });
  };
  return (
    <div className="csv-import">
      <form className="inline-form" onSubmit={submit} aria-label="Import CSV">
        <label>
          CSV file
          <input type="file" accept=".csv,text/csv" onChange={(e) => setFile(e.target.files?.[0] ?? null)} />
        </label>
        <label className="check">
          <input type="checkbox" checked={applyValid} onChange={(e) => setApplyValid(e.target.checked)} />
          apply the valid rows
        </label>
        <button type="submit" className="btn btn-primary" disabled={!file || upload.isPending}>
          {upload.isPending ? 'Uploading…' : 'Upload'}
        </button>
        <button type="button" className="btn" onClick={onClose}>
          Close
        </button>
        {upload.isError && <ErrorMessage error={upload.error} />}
      </form>
      {upload.data && <ImportReport report={upload.data} />}
    </div>
  );
}
