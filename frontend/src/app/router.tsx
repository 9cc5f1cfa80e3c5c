import { Navigate, type RouteObject } from 'react-router-dom';
import { paths } from '@/config/paths';
import { SlideRootsPage } from '@/features/slide-roots';
import { AppShell } from './layout/app-shell';
import { RequireAdmin, RequireAuth } from './layout/require-auth';
import { SlidesRoute } from './routes/knowledge';
import { LoginPage } from './routes/login';
import { NotFoundPage } from './routes/not-found';
import { UsersRoute } from './routes/users';

/** Shared by the browser router (main.tsx) and the memory router in tests. */
export const routes: RouteObject[] = [
  { path: paths.login, element: <LoginPage /> },
  {
    element: (
      <RequireAuth>
        <AppShell />
      </RequireAuth>
    ),
    children: [
      { index: true, element: <Navigate to={paths.slides} replace /> },
      { path: paths.slides, element: <SlidesRoute /> },
      {
        path: '/slides/:slideId',
        lazy: async () => ({ Component: (await import('./routes/slide-viewer')).SlideViewerRoute }),
      },
      { path: paths.groups, lazy: async () => ({ Component: (await import('./routes/knowledge-pages')).GroupsRoute }) },
      { path: paths.vocabulary, lazy: async () => ({ Component: (await import('./routes/knowledge-pages')).VocabularyRoute }) },
      { path: paths.tagRules, lazy: async () => ({ Component: (await import('./routes/knowledge-pages')).TagRulesRoute }) },
      { path: paths.audit, lazy: async () => ({ Component: (await import('./routes/knowledge-pages')).AuditRoute }) },
      { path: paths.tiling, lazy: async () => ({ Component: (await import('./routes/tiling')).TilingRoute }) },
      { path: '/tiling/runs/:runId', lazy: async () => ({ Component: (await import('./routes/tiling')).TilingRunRoute }) },
      { path: paths.clusters, lazy: async () => ({ Component: (await import('./routes/clusters')).ClustersRoute }) },
      { path: paths.clusterCategories, lazy: async () => ({ Component: (await import('./routes/clusters')).SemanticCategoriesRoute }) },
      { path: '/clusters/runs/:runId', lazy: async () => ({ Component: (await import('./routes/clusters')).ClusterReviewRoute }) },
      { path: paths.datasets, lazy: async () => ({ Component: (await import('./routes/datasets')).DatasetsRoute }) },
      { path: '/datasets/:datasetId', lazy: async () => ({ Component: (await import('./routes/datasets')).DatasetRoute }) },
      { path: paths.training, lazy: async () => ({ Component: (await import('./routes/training')).TrainingRoute }) },
      { path: '/training/runs/:runId', lazy: async () => ({ Component: (await import('./routes/training')).TrainingRunRoute }) },
      { path: paths.accountTokens, lazy: async () => ({ Component: (await import('./routes/datasets')).TokensRoute }) },
      {
        path: paths.slideRoots,
        element: (
          <RequireAdmin>
            <SlideRootsPage />
          </RequireAdmin>
        ),
      },
      {
        path: paths.users,
        element: (
          <RequireAdmin>
            <UsersRoute />
          </RequireAdmin>
        ),
      },
      { path: '*', element: <NotFoundPage /> },
    ],
  },
];
