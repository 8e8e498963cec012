import { useState, type ReactNode } from 'react';
import { Alert } from './Alert';
import { Button } from './Button';

/** A secret the server shows only once (a new API key, a webhook signing secret):
 * read-only, selected on focus, a copy button, and "Done" to put it away. */
export function ShownOnce({
  title,
  children,
  inputId,
  label,
  value,
  onDone,
}: {
  title: string;
  /** What it is for, under the title. */
  children: ReactNode;
  inputId: string;
  /** The field's accessible name. */
  label: string;
  value: string;
  onDone: () => void;
}) {
  const [copied, setCopied] = useState(false);
  return (
    <Alert tone="success" title={title}>
      {children}
      <div className="mt-2 flex flex-col gap-2 sm:flex-row">
        <label htmlFor={inputId} className="sr-only">
          {label}
        </label>
        <input
          id={inputId}
          readOnly
          value={value}
          onFocus={(e) => e.target.select()}
          className="w-full rounded-md border-0 bg-white px-3 py-2 font-mono text-sm text-slate-900 ring-1 ring-inset ring-emerald-300 dark:bg-slate-950 dark:text-slate-100 dark:ring-emerald-800"
        />
        <div className="flex gap-2">
          <Button
            variant="secondary"
            size="sm"
            onClick={async () => {
              try {
                await navigator.clipboard.writeText(value);
                setCopied(true);
              } catch {
                setCopied(false);
              }
            }}
          >
            {copied ? 'Copied' : 'Copy'}
          </Button>
          <Button variant="ghost" size="sm" onClick={onDone}>
            Done
          </Button>
        </div>
      </div>
    </Alert>
  );
}
