import { Link, Route, Routes } from 'react-router-dom';
import { PageHeader } from '../components/ui';
import { AuditPage } from '../features/audit/components/AuditPage';
import { SignInPage } from '../features/auth/components/SignInPage';
import { DashboardPage } from '../features/dashboard/components/DashboardPage';
import { EnginesPage } from '../features/engines/components/EnginesPage';
import { JobDetailPage } from '../features/jobs/components/JobDetailPage';
import { JobsPage } from '../features/jobs/components/JobsPage';
import { NewJobPage } from '../features/jobs/components/NewJobPage';
import { KeysPage } from '../features/keys/components/KeysPage';
import { LivePage } from '../features/live/components/LivePage';
import { ModelsPage } from '../features/models/components/ModelsPage';
import { RealtimeSessionPage } from '../features/realtime/components/RealtimeSessionPage';
import { RealtimeSessionsPage } from '../features/realtime/components/RealtimeSessionsPage';
import { WebhooksPage } from '../features/webhooks/components/WebhooksPage';
import { Layout } from './Layout';
import { RequireAuth } from './RequireAuth';

function NotFoundPage() {
  return (
    <>
      <PageHeader title="Page not found" />
      <p className="text-sm text-slate-600 dark:text-slate-400">
        This console has no such page. <Link className="underline" to="/">Go to the dashboard</Link>
      </p>
    </>
  );
}

export function AppRoutes() {
  return (
    <Routes>
      <Route path="/sign-in" element={<SignInPage />} />
      <Route element={<RequireAuth />}>
        <Route element={<Layout />}>
          <Route index element={<DashboardPage />} />
          <Route path="jobs" element={<JobsPage />} />
          <Route path="jobs/new" element={<NewJobPage />} />
          <Route path="jobs/:id" element={<JobDetailPage />} />
          <Route path="models" element={<ModelsPage />} />
          <Route path="keys" element={<KeysPage />} />
          <Route path="live" element={<LivePage />} />
          <Route path="realtime" element={<RealtimeSessionsPage />} />
          <Route path="realtime/:id" element={<RealtimeSessionPage />} />
          <Route path="webhooks" element={<WebhooksPage />} />
          <Route path="audit" element={<AuditPage />} />
          <Route path="engines" element={<EnginesPage />} />
          <Route path="*" element={<NotFoundPage />} />
        </Route>
      </Route>
    </Routes>
  );
}
