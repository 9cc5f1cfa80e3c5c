import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useMemo, useRef, useState } from 'react';
import { Link, useNavigate, useParams, useSearchParams } from 'react-router-dom';
import { ErrorMessage } from '@/components/error-message';
import { Loading } from '@/components/loading';
import { PageMessage } from '@/components/page-message';
import { paths } from '@/config/paths';
import { ApiError, errorMessage } from '@/lib/api-error';
import { apiAssetUrl } from '@/lib/asset-url';
import { useSemanticCategories } from '../api/categories';
import {
  clusterDetailQuery,
  putCluster,
  useClusterDetail,
  useClusterVotes,
  useMergeClusters,
  useReviewCluster,
  useRunClusters,
  useUnmergeCluster,
  type Decision,
} from '../api/clusters';
import { useClusterMap, useClusterRun, useRunAction } from '../api/runs';
import { clusterKeys, clusterSchema, REJECT_REASONS, type Cluster, type ClusterDetail, type Disagreement, type RejectReason, type SemanticCategory, type TileRef, type Vote } from '../api/schemas';
import { useWindowKeys } from '../hooks/use-window-keys';
import { isTypingTarget, keyAction } from '../lib/keyboard';
import { nextUnreviewed, stepIndex } from '../lib/navigation';
import { ClusterList, matchesFilter, type ClusterFilter } from './cluster-list';
import { ClusterMapView } from './cluster-map';
import { CompositionBars } from './composition-bars';
import { DecisionPanel, type Draft, type SaveState } from './decision-panel';
import { DisagreementsPanel } from './disagreements-panel';
import { ExemplarGrid } from './exemplar-grid';
import { MergeDialog } from './merge-dialog';
import { ReviewProgress } from './run-status';
import { ShortcutsHelp } from './shortcuts-help';
import { SimilarPanel } from './similar-panel';
import { tileViewerUrl } from './tile-links';
import { VotesList } from './votes-list';

interface Problem {
  kind: 'stale' | 'locked' | 'error';
  clusterId: number;
  index: number;
  decision: Decision;
  label: string;
  message: string;
}

function decisionLabel(decision: Decision, categories: SemanticCategory[]): string {
  if (decision.status === 'accepted') return categories.find((c) => c.id === decision.category)?.name ?? 'accepted';
  if (decision.status === 'rejected') return `rejected (${REJECT_REASONS.find((r) => r.value === decision.reject_reason)?.label ?? decision.reject_reason})`;
  return 'unreviewed';
}

interface Props {
  /** Admin or pathologist: may decide and merge. */
  canReview?: boolean;
  /** Admin: may lock, unlock and settle. */
  canManage?: boolean;
}

/**
 * Review one cluster at a time, built for the keyboard (docs/clustering.md): the list on the
 * left, exemplar tiles in the middle, the decision on the right. Decisions show at once and
 * the gallery moves on; a refused decision rolls back and brings its cluster back on screen,
 * with the reviewer's input kept.
 */
export function ReviewGalleryPage({ canReview = false, canManage = false }: Props) {
  const { runId } = useParams();
  const id = Number(runId);
  const valid = Number.isInteger(id) && id > 0;
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [searchParams, setSearchParams] = useSearchParams();
  const run = useClusterRun(valid ? id : 0);
  const clustersQuery = useRunClusters(id);
  const categoriesQuery = useSemanticCategories();
  const review = useReviewCluster(id);
  const merge = useMergeClusters(id);
  const unmerge = useUnmergeCluster(id);
  const runAction = useRunAction();

  const [filter, setFilter] = useState<ClusterFilter>('all');
  const [drafts, setDrafts] = useState<Record<number, Draft>>({});
  const [saves, setSaves] = useState<Record<number, SaveState>>({});
  const [problem, setProblem] = useState<Problem | null>(null);
  const [flash, setFlash] = useState('');
  const [showHelp, setShowHelp] = useState(false);
  const [showMerge, setShowMerge] = useState(false);
  const [showDisagreements, setShowDisagreements] = useState(false);
  const [similarOf, setSimilarOf] = useState<TileRef | null>(null);
  const noteRef = useRef<HTMLTextAreaElement>(null);
  const weightRef = useRef<HTMLInputElement>(null);
  /** Per cluster, the last request in flight: a second decision waits for the first's version. */
  const chains = useRef(new Map<number, Promise<unknown>>());

  const list = useMemo(() => clustersQuery.data ?? [], [clustersQuery.data]);
  const categories = useMemo(() => categoriesQuery.data ?? [], [categoriesQuery.data]);
  const byIndex = useMemo(() => new Map(list.map((c) => [c.index, c])), [list]);
  const shown = useMemo(() => list.filter((c) => matchesFilter(c, filter)), [list, filter]);
  const asked = searchParams.get('cluster');
  const askedIndex = asked !== null && /^\d+$/.test(asked) ? Number(asked) : null;
  const current: Cluster | null =
    (askedIndex !== null ? byIndex.get(askedIndex) : undefined) ?? byIndex.get(nextUnreviewed(list, null) ?? -1) ?? list[0] ?? null;
  const detail = useClusterDetail(current?.id ?? null);
  const shownDetail: ClusterDetail | undefined = detail.data && detail.data.id === current?.id ? detail.data : undefined;
  const votes = useClusterVotes(current?.id ?? null);
  const mapQuery = useClusterMap(id, valid && list.length > 0);

  const locked = run.data?.locked ?? false;
  const enabled = canReview && !locked;
  const reviewed = list.filter((c) => c.status !== 'unreviewed').length;
  const total = list.length || run.data?.review.total || 0;
  const reviewedCount = list.length ? reviewed : (run.data?.review.reviewed ?? 0);
  const allDone = list.length > 0 && reviewed === list.length;

  const goTo = (index: number | null) => {
    if (index === null) return;
    setSearchParams(
      (prev) => {
        const next = new URLSearchParams(prev);
        next.set('cluster', String(index));
        return next;
      },
      { replace: true },
    );
  };

  // Keep the address on the cluster shown, so a reload or a shared link opens the same one.
  useEffect(() => {
    if (current && askedIndex !== current.index) goTo(current.index);
  }, [current?.index, askedIndex]); // goTo only writes the address

  // Fetch the next clusters' exemplars (and warm their first images) before they are needed.
  useEffect(() => {
    if (!current) return;
    const others = list.filter((c) => c.id !== current.id);
    const upcoming = [nextUnreviewed(others, current.index), stepIndex(list, current.index, 1)];
    for (const index of new Set(upcoming)) {
      const cluster = index === null ? undefined : byIndex.get(index);
      if (!cluster) continue;
      void queryClient.prefetchQuery(clusterDetailQuery(cluster.id)).then(() => {
        const d = queryClient.getQueryData<ClusterDetail>(clusterKeys.detail(cluster.id));
        d?.exemplars.representative.slice(0, 12).forEach((t) => {
          if (!t.url) return;
          const img = new Image();
          img.src = apiAssetUrl(t.url);
        });
      });
    }
  }, [current, list, byIndex, queryClient]);

  const setDraft = (clusterId: number, patch: Draft) => setDrafts((d) => ({ ...d, [clusterId]: { ...d[clusterId], ...patch } }));

  const send = (cluster: Cluster, decision: Decision, opts: { settle?: boolean } = {}) => {
    const sentDraft = drafts[cluster.id];
    const category = categories.find((c) => c.id === decision.category);
    setSaves((s) => ({ ...s, [cluster.id]: 'saving' }));
    setProblem((p) => (p && p.clusterId === cluster.id ? null : p));
    const previous = chains.current.get(cluster.id) ?? Promise.resolve();
    const request = previous
      .catch(() => undefined)
      .then(() =>
        review.mutateAsync({
          id: cluster.id,
          decision,
          settle: opts.settle,
          display: { category_name: category?.name ?? '', category_colour: category?.colour ?? '' },
        }),
      )
      .then(() => {
        setSaves((s) => ({ ...s, [cluster.id]: 'saved' }));
        // The input went out with the decision; forget it unless it was edited meanwhile.
        setDrafts((d) => {
          if (d[cluster.id] !== sentDraft) return d;
          const { [cluster.id]: _, ...rest } = d;
          return rest;
        });
      })
      .catch((err: unknown) => {
        setSaves((s) => ({ ...s, [cluster.id]: 'error' }));
        const base = { clusterId: cluster.id, index: cluster.index, decision, label: decisionLabel(decision, categories) };
        if (err instanceof ApiError && err.status === 409 && err.code === 'locked') {
          setProblem({ ...base, kind: 'locked', message: err.message });
          void queryClient.invalidateQueries({ queryKey: clusterKeys.run(id), exact: true });
        } else if (err instanceof ApiError && err.status === 409 && err.code === 'stale') {
          const theirs = clusterSchema.safeParse((err.body as { current?: unknown } | null)?.current);
          if (theirs.success) putCluster(queryClient, id, theirs.data);
          else void queryClient.invalidateQueries({ queryKey: clusterKeys.list(id) });
          setProblem({ ...base, kind: 'stale', message: err.message });
        } else {
          setProblem({ ...base, kind: 'error', message: errorMessage(err) });
        }
        // Keep what the reviewer typed, and show the cluster whose decision failed.
        if (sentDraft) setDrafts((d) => ({ ...d, [cluster.id]: { ...sentDraft, ...d[cluster.id] } }));
        goTo(cluster.index);
      });
    chains.current.set(cluster.id, request);
    return request;
  };

  /** A decision on the current cluster, with its note and weight; then on to the next unreviewed one. */
  const decide = (partial: Pick<Decision, 'status' | 'category' | 'reject_reason'>) => {
    if (!current) return;
    if (!canReview) return setFlash('Only pathologists and admins make decisions.');
    if (locked) return setFlash('The run is locked: decisions are not accepted.');
    if (current.status === 'merged') {
      if (partial.status === 'unreviewed') return takeOut(current);
      const target = list.find((c) => c.id === current.merged_into);
      return setFlash(`Cluster #${current.index} is merged${target ? ` into #${target.index}` : ''}: decide on that one, or press u to take it out first.`);
    }
    const draft = drafts[current.id] ?? {};
    const note = draft.note ?? current.note;
    const weightText = draft.weight ?? (current.weight === null ? '' : String(current.weight));
    const weight = partial.status === 'accepted' && weightText.trim() !== '' ? Number(weightText) : null;
    void send(current, { ...partial, note, weight });
    setFlash('');
    if (partial.status !== 'unreviewed') {
      const others = list.filter((c) => c.id !== current.id);
      const next = nextUnreviewed(others, current.index);
      if (next !== null) goTo(next);
    }
  };

  /** Take a merged cluster back out of its target: it is unreviewed again. */
  const takeOut = (cluster: Cluster) =>
    unmerge.mutate(cluster.id, {
      onSuccess: () => setFlash(''),
      onError: (err) => setFlash(`Cluster #${cluster.index} could not be taken out: ${errorMessage(err)}`),
    });

  const accept = (category: SemanticCategory) => decide({ status: 'accepted', category: category.id, reject_reason: '' });
  const reject = (reason: RejectReason) => decide({ status: 'rejected', category: null, reject_reason: reason });
  const unreview = () => decide({ status: 'unreviewed', category: null, reject_reason: '' });

  /** Enter in the note or weight: save it now when the cluster has a decision, else keep it for the decision. */
  const commitFields = () => {
    if (!current || !enabled) return;
    if (current.status === 'accepted' || current.status === 'rejected') {
      const draft = drafts[current.id] ?? {};
      const weightText = draft.weight ?? (current.weight === null ? '' : String(current.weight));
      void send(current, {
        status: current.status,
        category: current.category,
        reject_reason: current.reject_reason,
        note: draft.note ?? current.note,
        weight: current.status === 'accepted' && weightText.trim() !== '' ? Number(weightText) : null,
      });
    } else if (drafts[current.id]) {
      setSaves((s) => ({ ...s, [current.id]: 'kept' }));
    }
  };

  const applyAgain = () => {
    if (!problem) return;
    const cluster = list.find((c) => c.id === problem.clusterId);
    if (!cluster) return;
    const draft = drafts[cluster.id] ?? {};
    void send(cluster, { ...problem.decision, note: draft.note ?? problem.decision.note });
    setProblem(null);
  };

  const settle = (item: Disagreement, vote: Vote) => {
    const cluster = list.find((c) => c.id === item.cluster.id) ?? item.cluster;
    if (!list.some((c) => c.id === cluster.id)) putCluster(queryClient, id, cluster);
    void send(
      cluster,
      {
        status: vote.status as Decision['status'],
        category: vote.category,
        reject_reason: vote.reject_reason,
        weight: vote.weight,
        note: vote.note,
      },
      { settle: true },
    );
  };

  const doMerge = (target: Cluster) => {
    if (!current) return;
    const source = current;
    merge.mutate(
      { target: target.id, clusters: [source.id] },
      {
        onSuccess: () => {
          setShowMerge(false);
          const others = list.filter((c) => c.id !== source.id);
          goTo(nextUnreviewed(others, source.index) ?? source.index);
        },
      },
    );
  };

  const firstTile = shownDetail?.exemplars.representative[0] ?? null;

  useWindowKeys((e) => {
    if (e.defaultPrevented || showMerge) return;
    if (isTypingTarget(e.target)) return;
    const action = keyAction(e);
    if (!action) return;
    if (showHelp) {
      if (action.type === 'help' || action.type === 'escape') {
        e.preventDefault();
        setShowHelp(false);
      }
      return;
    }
    e.preventDefault();
    switch (action.type) {
      case 'help':
        return setShowHelp(true);
      case 'escape':
        setSimilarOf(null);
        return setFlash('');
      case 'next':
        return goTo(stepIndex(shown, current?.index ?? null, 1));
      case 'previous':
        return goTo(stepIndex(shown, current?.index ?? null, -1));
      case 'nextUnreviewed': {
        const next = nextUnreviewed(list, current?.index ?? null);
        return next === null ? setFlash('Every cluster has a decision.') : goTo(next);
      }
      case 'accept': {
        const category = categories.find((c) => c.shortcut === action.shortcut);
        return category ? accept(category) : setFlash(`No category has the key ${action.shortcut}.`);
      }
      case 'reject':
        return reject(action.reason);
      case 'unreviewed':
        return unreview();
      case 'note':
        return noteRef.current?.focus();
      case 'weight':
        weightRef.current?.focus();
        return weightRef.current?.select();
      case 'merge':
        if (!enabled) return setFlash(locked ? 'The run is locked.' : 'Only pathologists and admins merge clusters.');
        if (current?.status === 'merged') return setFlash(`Cluster #${current.index} is already merged; press u to take it out first.`);
        merge.reset();
        return setShowMerge(true);
      case 'similar':
        return firstTile ? setSimilarOf(firstTile) : undefined;
      case 'viewer':
        return firstTile ? navigate(tileViewerUrl(firstTile)) : undefined;
    }
  });

  if (!valid) return <PageMessage title="Run not found" />;

  return (
    <div className="review-layout">
      <div className="review-topbar">
        <Link to={paths.clusters}>← Clusters</Link>
        <h1>
          {run.data ? `#${run.data.id} ${run.data.name}` : `Cluster run #${id}`}
          {run.data && <span className="muted small"> · {run.data.config_name} · k={run.data.params.k ?? '?'}</span>}
        </h1>
        <div className="review-progress-wrap" title="Clusters with a decision">
          <ReviewProgress reviewed={reviewedCount} total={total} label="Review progress" />
        </div>
        {locked ? (
          <span className="badge badge-locked" data-testid="lock-state">
            locked{run.data?.locked_by ? ` by ${run.data.locked_by}` : ''}
          </span>
        ) : (
          <span className="badge" data-testid="lock-state">
            open
          </span>
        )}
        {canManage && run.data && (
          <button type="button" className="btn btn-small" disabled={runAction.isPending} onClick={() => runAction.mutate({ id, action: locked ? 'unlock' : 'lock' })}>
            {locked ? 'Unlock' : 'Lock'}
          </button>
        )}
        <button type="button" className="btn btn-small" aria-pressed={showDisagreements} onClick={() => setShowDisagreements((v) => !v)}>
          Disagreements{run.data ? ` (${run.data.review.disagreements})` : ''}
        </button>
        <button type="button" className="btn btn-small" onClick={() => setShowHelp(true)} title="Keyboard shortcuts (?)">
          ? Keys
        </button>
      </div>
      {runAction.isError && <ErrorMessage error={runAction.error} />}
      {run.isError && <ErrorMessage error={run.error} onRetry={() => run.refetch()} />}

      <div className="review-body">
        <ClusterList clusters={list} shown={shown} categories={categories} filter={filter} onFilter={setFilter} current={current?.index ?? null} onSelect={goTo} />

        <main className="review-main" aria-label="Cluster tiles">
          {clustersQuery.isLoading && <Loading label="Loading clusters…" />}
          {clustersQuery.isError && <ErrorMessage error={clustersQuery.error} onRetry={() => clustersQuery.refetch()} />}
          {clustersQuery.data && list.length === 0 && (
            <p className="empty">{run.data && run.data.status !== 'succeeded' ? `This run is ${run.data.status}: it has no clusters to review yet.` : 'This run has no clusters.'}</p>
          )}
          {problem && (
            <div className={`review-problem problem-${problem.kind}`} role="alert" data-testid="review-problem">
              {problem.kind === 'stale' && (
                <p>
                  <strong>Someone else changed cluster #{problem.index}:</strong> their decision is shown; yours (<em>{problem.label}</em>) was not saved — apply again?
                </p>
              )}
              {problem.kind === 'locked' && (
                <p>
                  <strong>The run is locked:</strong> your decision on cluster #{problem.index} (<em>{problem.label}</em>) was not saved.
                </p>
              )}
              {problem.kind === 'error' && (
                <p>
                  <strong>Cluster #{problem.index}:</strong> {problem.message} Your decision (<em>{problem.label}</em>) was not saved.
                </p>
              )}
              <div className="form-actions">
                {problem.kind !== 'locked' && (
                  <button type="button" className="btn btn-small btn-primary" disabled={!enabled} onClick={applyAgain}>
                    Apply again
                  </button>
                )}
                <button type="button" className="btn btn-small" onClick={() => setProblem(null)}>
                  {problem.kind === 'stale' ? 'Keep theirs' : 'Dismiss'}
                </button>
              </div>
            </div>
          )}
          {flash && (
            <p className="flash" role="status">
              {flash}
            </p>
          )}
          {allDone && (
            <p className="ok-message all-done" data-testid="all-reviewed">
              Every cluster of this run has a decision.
            </p>
          )}
          {showDisagreements && (
            <DisagreementsPanel runId={id} canSettle={canManage} locked={locked} onSelect={goTo} onSettle={settle} onClose={() => setShowDisagreements(false)} />
          )}
          {similarOf && <SimilarPanel runId={id} tile={similarOf} onClose={() => setSimilarOf(null)} onCluster={goTo} />}
          {current && (
            <>
              {detail.isError && <ErrorMessage error={detail.error} onRetry={() => detail.refetch()} />}
              {!shownDetail && detail.isFetching && <Loading label="Loading tiles…" />}
              {shownDetail && (
                <div className="exemplars" data-testid="exemplars" data-cluster={current.index}>
                  <ExemplarGrid title="Representative" hint="closest to the centroid" tiles={shownDetail.exemplars.representative} onSimilar={setSimilarOf} />
                  <ExemplarGrid title="Boundary" hint="farthest from the centroid" tiles={shownDetail.exemplars.boundary} onSimilar={setSimilarOf} />
                  <ExemplarGrid title="Random" hint="drawn at random" tiles={shownDetail.exemplars.random} onSimilar={setSimilarOf} />
                </div>
              )}
            </>
          )}
        </main>

        {current ? (
          <DecisionPanel
            key={current.id}
            cluster={current}
            categories={categories}
            enabled={enabled}
            locked={locked}
            canReview={canReview}
            draft={drafts[current.id] ?? {}}
            saveState={saves[current.id]}
            noteRef={noteRef}
            weightRef={weightRef}
            onDraft={(patch) => setDraft(current.id, patch)}
            onAccept={accept}
            onReject={reject}
            onUnreviewed={unreview}
            onMerge={() => {
              merge.reset();
              setShowMerge(true);
            }}
            onCommit={commitFields}
          >
            <h3>Votes</h3>
            {votes.isError ? <ErrorMessage error={votes.error} /> : <VotesList votes={votes.data ?? []} />}
            <h3>Composition</h3>
            {shownDetail ? <CompositionBars composition={shownDetail.composition} /> : <span className="muted">…</span>}
            <h3>Map</h3>
            {mapQuery.data ? (
              <ClusterMapView map={mapQuery.data} clusters={byIndex} current={current.index} onSelect={goTo} />
            ) : mapQuery.isError ? (
              <ErrorMessage error={mapQuery.error} />
            ) : (
              <span className="muted">…</span>
            )}
          </DecisionPanel>
        ) : (
          <aside className="decision-panel" aria-label="Decision" />
        )}
      </div>

      {showHelp && <ShortcutsHelp onClose={() => setShowHelp(false)} />}
      {showMerge && current && (
        <MergeDialog source={current} clusters={list} pending={merge.isPending} error={merge.error} onMerge={doMerge} onClose={() => setShowMerge(false)} />
      )}
    </div>
  );
}
