import { Badge, Spinner, type Tone } from '../../../components/ui';
import type { JobStatus, StageStatus } from '../../../lib/api-types';

const JOB_TONES: Record<JobStatus, Tone> = {
  pending: 'gray',
  running: 'blue',
  completed: 'green',
  failed: 'red',
  cancelling: 'amber',
  cancelled: 'amber',
};

const STAGE_TONES: Record<StageStatus, Tone> = {
  waiting: 'gray',
  queued: 'gray',
  running: 'blue',
  succeeded: 'green',
  failed: 'red',
  cancelled: 'amber',
};

/** `animate`: spin while the job works (off where the badge is a label). */
export function JobStatusBadge({ status, animate = true }: { status: JobStatus; animate?: boolean }) {
  const busy = animate && (status === 'running' || status === 'cancelling');
  return (
    <Badge tone={JOB_TONES[status] ?? 'gray'}>
      {busy ? <Spinner className="h-3 w-3 border-[1.5px]" /> : null}
      {status}
    </Badge>
  );
}

export function StageStatusBadge({ status }: { status: StageStatus }) {
  return (
    <Badge tone={STAGE_TONES[status] ?? 'gray'}>
      {status === 'running' ? <Spinner className="h-3 w-3 border-[1.5px]" /> : null}
      {status}
    </Badge>
  );
}
