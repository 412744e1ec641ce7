import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { BrowserRouter } from 'react-router';
import { App } from './App';
import { loadConfig } from './auth/oidc';
import { SessionProvider } from './auth/session';
import './styles.css';

const root = createRoot(document.getElementById('root')!);
const queries = new QueryClient({
  defaultOptions: {
    // A 4xx will not change by asking again; only failures of the network or a 5xx are retried.
    queries: { retry: (count, error) => count < 2 && !('status' in error && Number(error.status) < 500) },
  },
});

loadConfig()
  .then((config) =>
    root.render(
      <StrictMode>
        <QueryClientProvider client={queries}>
          <BrowserRouter basename="/console">
            <SessionProvider config={config}>
              <App />
            </SessionProvider>
          </BrowserRouter>
        </QueryClientProvider>
      </StrictMode>,
    ),
  )
  .catch((err: unknown) =>
    root.render(
      <main className="page">
        <h1>Vlinders console</h1>
        <p role="alert">{err instanceof Error ? err.message : 'The console could not start.'}</p>
      </main>,
    ),
  );
