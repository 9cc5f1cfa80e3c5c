import { useState, type FormEvent } from 'react';
import { useQuery } from '@tanstack/react-query';
import { z } from 'zod';
import { ErrorMessage } from '@/components/error-message';
import { Field } from '@/components/field';
import { Loading } from '@/components/loading';
import { RadioChoices } from '@/components/radio-choices';
import { env } from '@/config/env';
import { api, listOf } from '@/lib/api';
import { fieldErrors } from '@/lib/field-errors';
import { formatDateTime } from '@/utils/format';
import { useCreateToken, useRevokeToken, useTokens, type ApiToken, type CreatedToken, type TokenScope } from '../api/tokens';

const SCOPES = [
  ['read', 'Read only (downloads, listings)'],
  ['full', 'Full (may change things)'],
] as const;

/** The newest built dataset version, for the example script; any id works. */
function useNewestBuiltVersion() {
  return useQuery({
    queryKey: ['datasets', 'list', 'newest-built'],
    queryFn: async () => {
      const versions = await api('/api/datasets/', listOf(z.object({ id: z.number(), status: z.string() }).loose()), { params: { status: 'built', page_size: 50 } });
      return versions.filter((v) => v.status === 'built').sort((a, b) => b.id - a.id)[0]?.id ?? null;
    },
  });
}

/** Where a script reaches the API: the configured API URL, else this page's origin. */
function apiBase(): string {
  return env.apiUrl || window.location.origin;
}

/** A script that downloads a version's manifest with the key and checks it against the API. */
export function pythonSnippet(key: string, datasetId: number | null): string {
  return [
    'import hashlib',
    '',
    'import requests',
    '',
    `API = "${apiBase()}"`,
    `TOKEN = "${key}"`,
    `DATASET = ${datasetId ?? 1}  # a built dataset version's id`,
    'headers = {"Authorization": f"Token {TOKEN}"}',
    '',
    'version = requests.get(f"{API}/api/datasets/{DATASET}/", headers=headers, timeout=60)',
    'version.raise_for_status()',
    'version = version.json()',
    'digest = hashlib.sha256()',
    'url = f"{API}/api/datasets/{DATASET}/manifest.parquet"',
    'with requests.get(url, headers=headers, stream=True, timeout=60) as response:',
    '    response.raise_for_status()',
    '    with open("manifest.parquet", "wb") as out:',
    '        for chunk in response.iter_content(chunk_size=1 << 20):',
    '            out.write(chunk)',
    '            digest.update(chunk)',
    'assert digest.hexdigest() == version["checksum"], "not the built manifest"',
    'print(version["row_count"], "rows,", "sha256", version["checksum"])',
  ].join('\n');
}

function CopyButton({ text, label }: { text: string; label: string }) {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  return (
    <button
      type="button"
      className="btn btn-small"
      onClick={() => {
        const clipboard = typeof navigator !== 'undefined' ? navigator.clipboard : undefined;
        if (!clipboard) {
          setState('failed');
          return;
        }
        clipboard.writeText(text).then(
          () => setState('copied'),
          () => setState('failed'),
        );
      }}
    >
      {state === 'copied' ? 'Copied' : state === 'failed' ? 'Copy failed: select and copy' : label}
    </button>
  );
}

/** The new key, shown once, with a script that uses it. */
function NewKey({ token, onDone }: { token: CreatedToken; onDone: () => void }) {
  const newest = useNewestBuiltVersion();
  const snippet = pythonSnippet(token.key, newest.data ?? null);
  return (
    <section className="panel new-key" aria-label="New token" data-testid="new-token">
      <h2>Token “{token.name}” created</h2>
      <p className="warning-box">Copy the key now: it is shown only this once. Whoever holds it acts as you ({token.scope === 'read' ? 'reading only' : 'with full access'}).</p>
      <div className="key-line">
        <code className="break" data-testid="token-key">
          {token.key}
        </code>
        <CopyButton text={token.key} label="Copy key" />
      </div>
      <h3>Download a manifest with it (Python)</h3>
      <pre className="json-block" data-testid="token-snippet">
        {snippet}
      </pre>
      <div className="form-actions">
        <CopyButton text={snippet} label="Copy script" />
        <button type="button" className="btn btn-small" onClick={onDone}>
          Done, hide the key
        </button>
      </div>
    </section>
  );
}

function TokenRow({ token }: { token: ApiToken }) {
  const [confirm, setConfirm] = useState(false);
  const revoke = useRevokeToken();
  return (
    <tr data-testid="token-row">
      <td>{token.name}</td>
      <td>
        <span className={`badge badge-scope-${token.scope}`}>{token.scope}</span>
      </td>
      <td>
        <code>{token.prefix}…</code>
      </td>
      <td className="nowrap">{formatDateTime(token.created_at)}</td>
      <td className="nowrap">{token.last_used_at ? formatDateTime(token.last_used_at) : <span className="muted">never</span>}</td>
      <td className="row-actions">
        {confirm ? (
          <span className="confirm">
            <button type="button" className="btn btn-small btn-danger" disabled={revoke.isPending} onClick={() => revoke.mutate(token.id)}>
              Really revoke
            </button>
            <button type="button" className="btn btn-small" onClick={() => setConfirm(false)}>
              Keep
            </button>
          </span>
        ) : (
          <button type="button" className="btn btn-small" onClick={() => setConfirm(true)}>
            Revoke
          </button>
        )}
        {revoke.isError && <ErrorMessage error={revoke.error} />}
      </td>
    </tr>
  );
}

/** /account/tokens — the user's personal API tokens, for scripts and the trainer. */
export function TokensPage() {
  const tokens = useTokens();
  const create = useCreateToken();
  const [name, setName] = useState('');
  const [scope, setScope] = useState<TokenScope>('read');
  const [created, setCreated] = useState<CreatedToken | null>(null);
  const errors = fieldErrors(create.error);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate(
      { name: name.trim(), scope },
      {
        onSuccess: (token) => {
          setCreated(token);
          setName('');
        },
      },
    );
  };

  return (
    <div className="page">
      <div className="page-head">
        <h1>API tokens</h1>
      </div>
      <p className="muted">
        Scripts send a token as <code>Authorization: Token &lt;key&gt;</code>. A read token can only read (list, download); a full token can do what you can do in this app.
      </p>
      <form className="inline-form" aria-label="New token" onSubmit={submit}>
        <Field label="Name" errors={errors} name="name" grow>
          <input value={name} onChange={(e) => setName(e.target.value)} required placeholder="training script" />
        </Field>
        <RadioChoices label="Scope" name="token-scope" value={scope} onChange={setScope} choices={SCOPES} />
        <button type="submit" className="btn btn-primary" disabled={create.isPending}>
          {create.isPending ? 'Creating…' : 'Create token'}
        </button>
        {create.isError && Object.keys(errors).length === 0 && <ErrorMessage error={create.error} />}
      </form>
      {created && <NewKey token={created} onDone={() => setCreated(null)} />}
      {tokens.isLoading && <Loading />}
      {tokens.isError && <ErrorMessage error={tokens.error} onRetry={() => tokens.refetch()} />}
      {tokens.data && (
        <div className="table-wrap">
          <table className="data-table" aria-label="Tokens">
            <thead>
              <tr>
                <th>Name</th>
                <th>Scope</th>
                <th>Key starts</th>
                <th>Created</th>
                <th>Last used</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {tokens.data.map((token) => (
                <TokenRow key={token.id} token={token} />
              ))}
              {tokens.data.length === 0 && (
                <tr>
                  <td colSpan={6} className="muted">
                    No tokens.
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
