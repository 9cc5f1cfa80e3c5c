import { useState } from 'react';
import { ErrorMessage } from '@/components/error-message';
import { useAddGroupMembers } from '../api/add-group-members';
import { useBulkTag } from '../api/bulk-tags';
import { useReviewSlides } from '../api/review-slides';
import { AddToGroupForm } from './add-to-group-form';
import { BulkTermsForm } from './bulk-terms-form';
import { ExcludeForm } from './exclude-form';

type Panel = 'add' | 'remove' | 'exclude' | 'group' | null;

const plural = (n: number, word: string) => `${n.toLocaleString('en-US')} ${word}${n === 1 ? '' : 's'}`;

/** Tagging, review and group actions on the selected slides (pathologists and admins). */
export function BulkActions({ slideIds }: { slideIds: number[] }) {
  const [panel, setPanel] = useState<Panel>(null);
  const [result, setResult] = useState('');
  const bulk = useBulkTag();
  const review = useReviewSlides();
  const members = useAddGroupMembers();
  const pending = bulk.isPending || review.isPending || members.isPending;
  const failed = [bulk, review, members].find((m) => m.isError);

  const open = (next: Panel) => {
    setPanel(panel === next ? null : next);
    setResult('');
    [bulk, review, members].forEach((m) => m.reset());
  };
  const done = (message: string) => {
    setPanel(null);
    setResult(message);
  };

  const tag = (mode: 'add' | 'remove', terms: number[]) =>
    bulk.mutate(
      { slides: slideIds, add: mode === 'add' ? terms : [], remove: mode === 'remove' ? terms : [] },
      { onSuccess: (r) => done(`${plural(r.slides, 'slide')}: ${r.added} added, ${r.removed} removed.`) },
    );

  return (
    <div className="bulk-actions">
      <div className="bulk-buttons" role="group" aria-label="Bulk actions">
        <button type="button" className="btn btn-small" aria-pressed={panel === 'add'} onClick={() => open('add')} data-testid="bulk-add-terms">
          Add terms…
        </button>
        <button type="button" className="btn btn-small" aria-pressed={panel === 'remove'} onClick={() => open('remove')}>
          Remove terms…
        </button>
        <button
          type="button"
          className="btn btn-small"
          disabled={pending}
          onClick={() => {
            open(null);
            review.mutate({ slides: slideIds, status: 'reviewed' }, { onSuccess: () => done(`${plural(slideIds.length, 'slide')} marked reviewed.`) });
          }}
        >
          Mark reviewed
        </button>
        <button type="button" className="btn btn-small" aria-pressed={panel === 'exclude'} onClick={() => open('exclude')}>
          Exclude…
        </button>
        <button type="button" className="btn btn-small" aria-pressed={panel === 'group'} onClick={() => open('group')}>
          Add to group…
        </button>
      </div>
      {(panel === 'add' || panel === 'remove') && (
        <BulkTermsForm key={panel} mode={panel} pending={pending} onCancel={() => setPanel(null)} onSubmit={(terms) => tag(panel, terms)} />
      )}
      {panel === 'exclude' && (
        <ExcludeForm
          pending={pending}
          onCancel={() => setPanel(null)}
          onSubmit={(reason) =>
            review.mutate(
              { slides: slideIds, status: 'excluded', reason },
              { onSuccess: () => done(`${plural(slideIds.length, 'slide')} excluded.`) },
            )
          }
        />
      )}
      {panel === 'group' && (
        <AddToGroupForm
          pending={pending}
          onCancel={() => setPanel(null)}
          onSubmit={(groupId) =>
            members.mutate({ groupId, slideIds }, { onSuccess: () => done(`${plural(slideIds.length, 'slide')} added to the group.`) })
          }
        />
      )}
      {pending && <span className="spinner" aria-label="Working" />}
      {result && (
        <span className="ok-message" role="status" data-testid="bulk-result">
          {result}
        </span>
      )}
      {failed && <ErrorMessage error={failed.error} />}
    </div>
  );
}
