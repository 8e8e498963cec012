import type { ReactNode } from 'react';

/** A feature of the target API that this server does not have yet. */
export function NotAvailable({ feature, children }: { feature: string; children?: ReactNode }) {
  return (
    <div role="status" className="rounded-lg border border-dashed border-slate-300 bg-white px-5 py-6 dark:border-slate-700 dark:bg-slate-900">
      <p className="flex flex-wrap items-center gap-2 text-base font-semibold text-slate-900 dark:text-slate-100">
        <span className="rounded-full bg-slate-100 px-2 py-0.5 text-xs font-medium uppercase tracking-wide text-slate-600 dark:bg-slate-800 dark:text-slate-300">
          Not available yet
        </span>
        {feature} is not available on this server yet.
      </p>
      {children ? <div className="mt-2 space-y-2 text-sm text-slate-600 dark:text-slate-300">{children}</div> : null}
    </div>
  );
}
