import { Card, CardBody, CardHeader, EmptyState, ErrorState, Loading } from '../../../components/ui';
import type { QueryState } from '../../../lib/use-query';
import { USAGE_DAYS, type JobStats } from '../api/operations';
import { DailyChart } from './DailyChart';

const hours = (seconds: number) => seconds / 3600;
const formatHours = (h: number) => (h >= 10 ? h.toFixed(0) : h >= 1 ? h.toFixed(1) : h.toFixed(2)) + ' h';

/** Jobs, audio hours, RTFx and failures per day, from /v1/jobs/stats. */
export function UsageCard({ stats }: { stats: QueryState<JobStats> }) {
  const days = stats.data?.daily;
  return (
    <Card aria-labelledby="usage-title">
      <CardHeader id="usage-title" title="Usage" description={`The last ${USAGE_DAYS} days (UTC), by the day jobs finished`} />
      {stats.loading ? (
        <Loading label="Loading usage…" />
      ) : stats.error && !stats.data ? (
        <ErrorState error={stats.error} title="Could not load usage" onRetry={stats.reload} />
      ) : !days ? (
        <EmptyState title="Not reported">This server's /v1/jobs/stats has no per-day series.</EmptyState>
      ) : (
        <CardBody className="grid gap-6 sm:grid-cols-3">
          <DailyChart
            title="Jobs"
            days={days}
            series={[
              { label: 'completed', fill: 'fill-indigo-500 dark:fill-indigo-400', value: (d) => d.completed },
              { label: 'failed', fill: 'fill-red-500 dark:fill-red-400', value: (d) => d.failed },
            ]}
          />
          <DailyChart
            title="Audio hours"
            days={days}
            format={formatHours}
            series={[{ label: 'audio', fill: 'fill-emerald-500 dark:fill-emerald-400', value: (d) => hours(d.audio_seconds) }]}
          />
          <DailyChart
            title="Speed (RTFx)"
            days={days}
            format={(x) => (x ? `${x.toFixed(1)}×` : '–')}
            series={[{ label: 'RTFx', fill: 'fill-sky-500 dark:fill-sky-400', value: (d) => d.rtfx ?? 0 }]}
          />
        </CardBody>
      )}
    </Card>
  );
}
