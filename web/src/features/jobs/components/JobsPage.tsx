import { useEffect, useMemo, useRef, useState } from 'react';
import { Link, useLocation, useSearchParams } from 'react-router-dom';
import { useApi, useAuth } from '../../../app/providers/auth';
import {
  Alert,
  Button,
  ButtonLink,
  Card,
  EmptyState,
  ErrorState,
  Field,
  Input,
  Loading,
  PageHeader,
  Select,
  Spinner,
} from '../../../components/ui';
import { JOB_STATUSES, config } from '../../../config';
import { errorMessage } from '../../../lib/api-client';
import type { JobList, JobStatus, JobSummary } from '../../../lib/api-types';
import { formatClock, formatRelative } from '../../../lib/format';
import { useQuery } from '../../../lib/use-query';
import { isTerminal, listJobs } from '../api/jobs';
import { JobStatusBadge } from './StatusBadge';

function isStatus(value: string | null): value is JobStatus {
  return !!value && (JOB_STATUSES as readonly string[]).includes(value);
}

export function JobsPage() {
  const client = useApi();
  const { can } = useAuth();
  const location = useLocation();
  const notice = (location.state as { notice?: string } | null)?.notice;
  const [params, setParams] = useSearchParams();
  const rawStatus = params.get('status');
  const status: JobStatus | '' = isStatus(rawStatus) ? rawStatus : '';
  const [search, setSearch] = useState('');
  // Pages after the first, loaded with "Load more" (cursor pagination).
  const [pages, setPages] = useState<JobList[]>([]);
  const [loadingMore, setLoadingMore] = useState(false);
  const [moreError, setMoreError] = useState<unknown>(null);

  const loadedMore = useRef(false);
  loadedMore.current = pages.length > 0;
  const first = useQuery(
    `jobs:${status}`,
    (signal) => listJobs(client, { status, limit: config.jobsPageSize }, signal),
    {
      // Follow unfinished jobs, unless more pages are loaded (a refresh resets them).
      refetchInterval: (data) =>
        !loadedMore.current && data?.jobs.some((j) => !isTerminal(j.status)) ? config.jobPollMs * 2 : false,
    },
  );

  // A new first page starts the list over.
  useEffect(() => {
    setPages([]);
    setMoreError(null);
  }, [first.data]);

  const last = pages[pages.length - 1] ?? first.data;
  const cursor = last?.cursor ?? null;
  const hasMore = !!last?.has_more;

  async function loadMore() {
    if (!cursor) return;
    setLoadingMore(true);
    setMoreError(null);
    try {
      const page = await listJobs(client, { status, limit: config.jobsPageSize, cursor });
      setPages((loaded) => [...loaded, page]);
    } catch (reason) {
      setMoreError(reason);
    } finally {
      setLoadingMore(false);
    }
  }

  const jobs = useMemo(
    () => [...(first.data?.jobs ?? []), ...pages.flatMap((p) => p.jobs)],
    [first.data, pages],
  );
  const needle = search.trim().toLowerCase();
  const shown = needle
    ? jobs.filter((j) => (j.display_name ?? '').toLowerCase().includes(needle) || j.id.includes(needle))
    : jobs;

  return (
    <>
      <PageHeader
        title="Jobs"
        description="Batch transcription jobs of your tenant, newest first."
        actions={
          <>
            <Button variant="secondary" onClick={first.reload} disabled={first.fetching}>
              {first.fetching ? <Spinner className="h-3 w-3" /> : null}
              Refresh
            </Button>
            {can('jobs:write') ? <ButtonLink to="/jobs/new">New job</ButtonLink> : null}
          </>
        }
      />
      {notice ? (
        <Alert tone="success" className="mb-4">
          {notice}
        </Alert>
      ) : null}
      <Card>
        <div className="grid gap-3 border-b border-slate-200 dark:border-slate-700 px-4 py-3 sm:grid-cols-2 sm:px-5">
          <Field label="Status">
            {(p) => (
              <Select
                {...p}
                value={status}
                onChange={(e) => {
                  const value = e.target.value;
                  setParams(value ? { status: value } : {}, { replace: true });
                }}
              >
                <option value="">All statuses</option>
                {JOB_STATUSES.map((s) => (
                  <option key={s} value={s}>
                    {s}
                  </option>
                ))}
              </Select>
            )}
          </Field>
          <Field label="Search by name" hint={needle ? `Searching the ${jobs.length} loaded jobs` : undefined}>
            {(p) => (
              <Input
                {...p}
                type="search"
                placeholder="meeting.mp3"
                value={search}
                onChange={(e) => setSearch(e.target.value)}
              />
            )}
          </Field>
        </div>
        {first.loading ? (
          <Loading label="Loading jobs…" />
        ) : first.error && !first.data ? (
          <ErrorState error={first.error} title="Could not load jobs" onRetry={first.reload} />
        ) : jobs.length === 0 ? (
          <EmptyState
            title={status ? `No ${status} jobs` : 'No jobs yet'}
            action={can('jobs:write') && !status ? <ButtonLink to="/jobs/new">Transcribe a file</ButtonLink> : null}
          >
            {status ? 'Try another status filter.' : 'Upload an audio file to create your first job.'}
          </EmptyState>
        ) : shown.length === 0 ? (
          <EmptyState title="No job matches your search">Search looks at the jobs loaded so far.</EmptyState>
        ) : (
          <JobTable jobs={shown} />
        )}
        {moreError ? (
          <Alert tone="error" className="m-4">
            Could not load more jobs: {errorMessage(moreError)}
          </Alert>
        ) : null}
        {hasMore && jobs.length > 0 ? (
          <div className="border-t border-slate-200 dark:border-slate-700 px-4 py-3 text-center">
            <Button variant="secondary" onClick={() => void loadMore()} disabled={loadingMore}>
              {loadingMore ? <Spinner className="h-3 w-3" /> : null}
              Load more
            </Button>
          </div>
        ) : null}
      </Card>
    </>
  );
}

export function JobTable({ jobs, compact = false }: { jobs: JobSummary[]; compact?: boolean }) {
  return (
    <ul className="divide-y divide-slate-100 dark:divide-slate-800" aria-label="Jobs">
      {jobs.map((job) => (
        <li key={job.id}>
          <Link
            to={`/jobs/${job.id}`}
            className="flex flex-col gap-1 px-4 py-3 hover:bg-slate-50 dark:hover:bg-slate-800 focus-visible:bg-slate-50 focus-visible:outline-none sm:flex-row sm:items-center sm:gap-4 sm:px-5"
          >
            <div className="min-w-0 flex-1">
              <p className="truncate font-medium text-slate-900 dark:text-slate-100">{job.display_name || job.id}</p>
              <p className="truncate text-xs text-slate-500 dark:text-slate-400">
                {job.model}
                {job.language_code ? ` · ${job.language_code}` : ''}
                {job.error ? ` · ${job.error}` : ''}
              </p>
            </div>
            <div className="flex items-center gap-3 text-sm text-slate-600 dark:text-slate-300">
              <JobStatusBadge status={job.status} />
              {compact ? null : (
                <span className="w-16 text-right font-mono tabular-nums" title="Audio duration">
                  {formatClock(job.audio_duration_seconds)}
                </span>
              )}
              <span className="w-24 text-right text-xs text-slate-500 dark:text-slate-400" title={job.created_at}>
                {formatRelative(job.created_at)}
              </span>
            </div>
          </Link>
        </li>
      ))}
    </ul>
  );
}
