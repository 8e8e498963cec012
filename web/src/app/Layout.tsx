import { useEffect, useState } from 'react';
import { NavLink, Outlet, useLocation } from 'react-router-dom';
import { Button, cn } from '../components/ui';
import { useAuth } from './providers/auth';
import { ThemeToggle } from './ThemeToggle';

interface NavItem {
  to: string;
  label: string;
  end?: boolean;
  soon?: boolean;
}

const NAV: NavItem[] = [
  { to: '/', label: 'Dashboard', end: true },
  { to: '/jobs', label: 'Jobs', end: true },
  { to: '/jobs/new', label: 'New job' },
  { to: '/models', label: 'Models' },
  { to: '/keys', label: 'API keys' },
  { to: '/live', label: 'Live transcription' },
  { to: '/realtime', label: 'Realtime sessions' },
  { to: '/engines', label: 'Engines & workers' },
  { to: '/webhooks', label: 'Webhooks' },
  { to: '/audit', label: 'Audit log' },
];

function Nav({ onNavigate }: { onNavigate?: () => void }) {
  return (
    <ul className="space-y-1">
      {NAV.map((item) => (
        <li key={item.to}>
          <NavLink
            to={item.to}
            end={item.end}
            onClick={onNavigate}
            className={({ isActive }) =>
              cn(
                'flex items-center justify-between gap-2 rounded-md px-3 py-2 text-sm font-medium',
                'focus-visible:outline-2 focus-visible:outline-indigo-600 dark:focus-visible:outline-indigo-400',
                isActive
                  ? 'bg-indigo-50 text-indigo-800 dark:bg-indigo-950 dark:text-indigo-200'
                  : 'text-slate-700 hover:bg-slate-100 dark:text-slate-300 dark:hover:bg-slate-800',
              )
            }
          >
            {item.label}
            {item.soon ? (
              <span className="rounded bg-slate-100 px-1.5 text-[10px] font-semibold uppercase text-slate-500">soon</span>
            ) : null}
          </NavLink>
        </li>
      ))}
    </ul>
  );
}

export function Layout() {
  const { me, signOut } = useAuth();
  const [open, setOpen] = useState(false);
  const location = useLocation();
  useEffect(() => setOpen(false), [location.pathname]);

  const account = (
    <div className="space-y-2 border-t border-slate-200 pt-4 text-xs text-slate-500 dark:border-slate-800 dark:text-slate-400">
      {me ? (
        <p>
          Tenant <span className="font-medium text-slate-700 dark:text-slate-200">{me.tenant_id}</span>
          <br />
          {me.scopes.join(', ')}
        </p>
      ) : null}
      <ThemeToggle className="w-full justify-start" />
      <Button variant="secondary" size="sm" className="w-full" onClick={() => signOut()}>
        Sign out
      </Button>
    </div>
  );

  return (
    <div className="min-h-screen md:flex">
      <a
        href="#main"
        className="sr-only focus:not-sr-only focus:fixed focus:left-2 focus:top-2 focus:z-50 focus:rounded focus:bg-white focus:px-3 focus:py-2 dark:focus:bg-slate-900"
      >
        Skip to content
      </a>
      {/* Narrow screens: a top bar with a menu button. */}
      <header className="sticky top-0 z-30 flex items-center justify-between border-b border-slate-200 bg-white px-4 py-3 md:hidden dark:border-slate-800 dark:bg-slate-900">
        <span className="text-lg font-bold text-indigo-700 dark:text-indigo-300">Dalston</span>
        <Button
          variant="secondary"
          size="sm"
          aria-expanded={open}
          aria-controls="mobile-nav"
          onClick={() => setOpen((o) => !o)}
        >
          {open ? 'Close menu' : 'Menu'}
        </Button>
      </header>
      {open ? (
        <nav id="mobile-nav" aria-label="Main" className="border-b border-slate-200 bg-white px-4 py-3 md:hidden dark:border-slate-800 dark:bg-slate-900">
          <Nav onNavigate={() => setOpen(false)} />
          <div className="mt-3">{account}</div>
        </nav>
      ) : null}
      <aside className="hidden w-60 shrink-0 border-r border-slate-200 bg-white md:block dark:border-slate-800 dark:bg-slate-900">
        <div className="sticky top-0 flex h-screen flex-col gap-6 px-3 py-5">
          <p className="px-3 text-xl font-bold text-indigo-700 dark:text-indigo-300">Dalston</p>
          <nav aria-label="Main" className="flex-1 overflow-y-auto">
            <Nav />
          </nav>
          {account}
        </div>
      </aside>
      <main id="main" className="min-w-0 flex-1 px-4 py-6 sm:px-6 lg:px-8">
        <div className="mx-auto max-w-6xl">
          <Outlet />
        </div>
      </main>
    </div>
  );
}
