import { useEffect, type ReactNode } from 'react';

/** A page's h1, for pages that build their own heading (see PageHeader's `heading`). */
export function PageTitle({ children }: { children: ReactNode }) {
  return <h1 className="truncate text-2xl font-semibold tracking-tight text-slate-900 dark:text-slate-50">{children}</h1>;
}

export function PageHeader({
  title,
  heading,
  description,
  actions,
}: {
  /** The page's title: the h1 and the document title. */
  title: string;
  /** Shown instead of the plain h1 (e.g. a title that can be edited in place). */
  heading?: ReactNode;
  description?: ReactNode;
  actions?: ReactNode;
}) {
  useEffect(() => {
    document.title = `${title} · Dalston console`;
  }, [title]);
  return (
    <header className="mb-6 flex flex-wrap items-end justify-between gap-4">
      <div className="min-w-0">
        {heading ?? <PageTitle>{title}</PageTitle>}
        {description ? <p className="mt-1 text-sm text-slate-600 dark:text-slate-400">{description}</p> : null}
      </div>
      {actions ? <div className="flex flex-wrap gap-2">{actions}</div> : null}
    </header>
  );
}
