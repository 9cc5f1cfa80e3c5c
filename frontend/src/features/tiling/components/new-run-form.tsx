import { useState, type FormEvent } from 'react';
import { Link } from 'react-router-dom';
import { ErrorMessage } from '@/components/error-message';
import { GroupSelect } from '@/components/group-select';
import { RadioChoices } from '@/components/radio-choices';
import { paths } from '@/config/paths';
import { useGroupOptions } from '@/lib/options';
import { useStartTilingRun, type RunTarget } from '../api/runs';
import type { TilingConfig } from '../api/schemas';
import { ConfigSelect } from './config-select';

type Target = 'group' | 'untiled';

const TARGETS = [
  ['untiled', 'All untiled slides'],
  ['group', 'A group'],
] as const;

/**
 * Launch a run over a group or over every untiled slide (admin). Picking individual slides
 * happens in the slide browser ("Tile…"), where the selection lives.
 */
export function NewRunForm({ configs }: { configs: TilingConfig[] }) {
  const [configId, setConfigId] = useState('');
  const [target, setTarget] = useState<Target>('untiled');
  const [groupId, setGroupId] = useState('');
  const groups = useGroupOptions(target === 'group');
  const start = useStartTilingRun();

  const ready = configId !== '' && (target === 'untiled' || groupId !== '');
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!ready) return;
    const targetBody: RunTarget = target === 'group' ? { group: Number(groupId) } : { untiled: true };
    start.mutate({ config: Number(configId), ...targetBody });
  };

  return (
    <form className="inline-form" onSubmit={submit} aria-label="New tiling run">
      <label>
        Configuration
        <ConfigSelect configs={configs} value={configId} onChange={setConfigId} />
      </label>
      <RadioChoices label="Slides to tile" name="run-target" value={target} onChange={setTarget} choices={TARGETS} />
      {target === 'group' && (
        <label>
          Group
          <GroupSelect groups={groups.data ?? []} value={groupId} onChange={setGroupId} />
        </label>
      )}
      <button type="submit" className="btn btn-primary" disabled={!ready || start.isPending}>
        {start.isPending ? 'Starting…' : 'Start run'}
      </button>
      {groups.isError && <ErrorMessage error={groups.error} />}
      {start.isError && <ErrorMessage error={start.error} />}
      {start.isSuccess && (
        <span className="ok-message" role="status">
          Run <Link to={paths.tilingRun(start.data.id)}>#{start.data.id}</Link> started ({start.data.total} slides).
        </span>
      )}
    </form>
  );
}
