import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { useApi } from '../../../app/providers/auth';
import { Button, Input, PageTitle } from '../../../components/ui';
import { ApiError, errorMessage } from '../../../lib/api-client';
import type { Job } from '../../../lib/api-types';
import { renameJob } from '../api/jobs';

/** The most characters a display name may have (PATCH .../{id}). */
const MAX_NAME = 255;

/**
 * The job's name as the page's h1, renamed in place: Enter saves, Escape
 * cancels, and the server's refusal is shown under the box.
 */
export function JobName({
  jobId,
  title,
  displayName,
  editable,
  onRenamed,
}: {
  jobId: string;
  /** What the heading shows (the display name, or the id without one). */
  title: string;
  displayName: string | null;
  editable: boolean;
  onRenamed: (job: Job) => void;
}) {
  const client = useApi();
  const [draft, setDraft] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const renameButton = useRef<HTMLButtonElement>(null);
  const refocus = useRef(false);
  const errorId = useId();

  // Back on the Rename button once the box closes, as keyboard users expect.
  useEffect(() => {
    if (draft === null && refocus.current) {
      refocus.current = false;
      renameButton.current?.focus();
    }
  }, [draft]);

  function close() {
    refocus.current = true;
    setDraft(null);
    setError(null);
  }

  async function save() {
    if (draft === null || saving) return;
    const next = draft.trim();
    if (!next) {
      setError(new ApiError(422, 'validation_error', 'Enter a name.', 'display_name'));
      return;
    }
    if (next === displayName) {
      close();
      return;
    }
    setSaving(true);
    setError(null);
    try {
      const job = await renameJob(client, jobId, next);
      onRenamed(job);
      close();
    } catch (reason) {
      setError(reason);
    } finally {
      setSaving(false);
    }
  }

  function onSubmit(event: FormEvent) {
    event.preventDefault();
    void save();
  }

  if (draft === null) {
    return (
      <div className="flex min-w-0 items-center gap-2">
        <PageTitle>{title}</PageTitle>
        {editable ? (
          <Button
            ref={renameButton}
            variant="ghost"
            size="sm"
            className="shrink-0"
            onClick={() => {
              setDraft(displayName ?? '');
              setError(null);
            }}
          >
            Rename
          </Button>
        ) : null}
      </div>
    );
  }
  return (
    <form onSubmit={onSubmit} className="flex flex-wrap items-center gap-2" aria-label="Rename job" noValidate>
      <Input
        aria-label="Display name"
        value={draft}
        maxLength={MAX_NAME}
        autoFocus
        onFocus={(e) => e.currentTarget.select()}
        onChange={(e) => setDraft(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === 'Escape') {
            e.preventDefault();
            if (!saving) close();
          } else if (e.key === 'Enter') {
            e.preventDefault();
            void save();
          }
        }}
        readOnly={saving}
        aria-invalid={error ? true : undefined}
        aria-describedby={error ? errorId : undefined}
        className="min-w-0 flex-1 text-lg font-semibold sm:w-96 sm:flex-none"
      />
      <Button type="submit" size="sm" disabled={saving}>
        {saving ? 'Saving…' : 'Save'}
      </Button>
      <Button variant="ghost" size="sm" onClick={close} disabled={saving}>
        Cancel
      </Button>
      {error ? (
        <p id={errorId} role="alert" className="w-full text-sm text-red-700">
          {error instanceof ApiError ? error.message : errorMessage(error)}
        </p>
      ) : null}
    </form>
  );
}
