import { canCurate, useCurrentUser } from '@/features/auth';
import { DatasetPage, DatasetsPage } from '@/features/datasets';
import { TokensPage } from '@/features/tokens';

// Its own lazily loaded module: datasets and tokens are for curators and scripts' owners.

export function DatasetsRoute() {
  return <DatasetsPage canCurate={canCurate(useCurrentUser())} />;
}

export function DatasetRoute() {
  return <DatasetPage canCurate={canCurate(useCurrentUser())} />;
}

export function TokensRoute() {
  return <TokensPage />;
}
