import { useEffect, useState } from 'react';
import { NavLink, Outlet, useLocation } from 'react-router-dom';
import { Button, cn } from '../components/ui';
import { useAuth } from './providers/auth';

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
                isActive ? 'bg-indigo-50 text-indigo-800' : 'text-slate-700 hover:bg-slate-100',
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
    <div className="space-y-2 border-t border-slate-200 pt-4 text-xs text-slate-500">
      {me ? (
        <p>
          Tenant <span className="font-medium text-slate-700">{me.tenant_id}</span>
          <br />
          {me.scopes.join(', ')}
        </p>
      ) : null}
      <Button variant="secondary" size="sm" className="w-full" onClick={() => signOut()}>
        Sign out
      </Button>
    </div>
  );

  return (
    <div className="min-h-screen md:flex">
      <a
        href="#main"
        className="sr-only focus:not-sr-only focus:fixed focus:left-2 focus:top-2 focus:z-50 focus:rounded focus:bg-white focus:px-3 focus:py-2"
      >
        Skip to content
      </a>
      {/* Narrow screens: a top bar with a menu button. */}
      <header className="sticky top-0 z-30 flex items-center justify-between border-b border-slate-200 bg-white px-4 py-3 md:hidden">
        <span className="text-lg font-bold text-indigo-700">Dalston</span>
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
        <nav id="mobile-nav" aria-label="Main" className="border-b border-slate-200 bg-white px-4 py-3 md:hidden">
          <Nav onNavigate={() => setOpen(false)} />
          <div className="mt-3">{account}</div>
        </nav>
      ) : null}
      <aside className="hidden w-60 shrink-0 border-r border-slate-200 bg-white md:block">
        <div className="sticky top-0 flex h-screen flex-col gap-6 px-3 py-5">
          <p className="px-3 text-xl font-bold text-indigo-700">Dalston</p>
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
