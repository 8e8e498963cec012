import { BrowserRouter } from 'react-router-dom';
import { config } from '../config';
import { AuthProvider } from './providers/auth';
import { AppRoutes } from './routes';

export function App() {
  return (
    <BrowserRouter basename={config.routerBase || '/'}>
      <AuthProvider>
        <AppRoutes />
      </AuthProvider>
    </BrowserRouter>
  );
}
