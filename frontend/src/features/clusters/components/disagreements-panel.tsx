import { ErrorMessage } from '@/components/error-message';
import { Loading } from '@/components/loading';
import { useDisagreements } from '../api/runs';
import type { Disagreement, Vote } from '../api/schemas';
import { voteText } from './votes-list';

interface Props {
  runId: number;
  /** Admins may settle: take one reviewer's vote as the cluster's decision. */
  canSettle: boolean;
  locked: boolean;
  onSelect: (index: number) => void;
  onSettle: (item: Disagreement, vote: Vote) => void;
  onClose: () => void;
}

export function DisagreementsPanel({ runId, canSettle, locked, onSelect, onSettle, onClose }: Props) {
  const disagreements = useDisagreements(runId, true);
  return (
    <section className="disagreements" aria-label="Disagreements">
      <div className="page-head">
        <h3>Disagreements</h3>
        <span className="spacer" />
        <button type="button" className="btn btn-small" onClick={onClose}>
          Close
        </button>
      </div>
      {disagreements.isLoading && <Loading />}
      {disagreements.isError && <ErrorMessage error={disagreements.error} onRetry={() => disagreements.refetch()} />}
      {disagreements.data?.length === 0 && <p className="muted">The reviewers agree on every cluster.</p>}
      {disagreements.data && disagreements.data.length > 0 && (
        <table className="data-table compact">
          <tbody>
            {disagreements.data.map((item) => (
              <tr key={item.cluster.id} data-testid="disagreement-row">
                <td>
                  <button type="button" className="link-button" onClick={() => onSelect(item.cluster.index)}>
                    #{item.cluster.index}
                  </button>
                </td>
                <td>
                  <ul className="votes">
                    {item.votes.map((v) => (
                      <li key={v.user}>
                        <strong>{v.user}</strong> {voteText(v)}
                        {canSettle && v.status !== 'unreviewed' && (
                          <button type="button" className="btn btn-small" disabled={locked} onClick={() => onSettle(item, v)}>
                            Settle as {v.user}’s
                          </button>
                        )}
                      </li>
                    ))}
                  </ul>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
