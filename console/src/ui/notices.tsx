// What a view says when something failed, when there is nothing yet, or while it loads.
import type { ReactNode } from 'react';
import type { ApiError } from '../api/client';

const nextSteps: Record<string, string> = {
  UNAUTHENTICATED: 'Sign in again.',
  INVALID_TOKEN: 'Sign in again.',
  FORBIDDEN: 'Ask an owner or admin of the organization for the role this needs.',
  NOT_FOUND: 'It may have been removed, or it belongs to an organization you are not a member of.',
  RATE_LIMITED: 'Wait a moment and try again.',
  DATABASE_UNAVAILABLE: 'The platform cannot reach its database; try again in a minute.',
};

export function ErrorNotice({ error }: { error: Error }) {
  const api = error as Partial<ApiError>;
  const hint = api.code ? nextSteps[api.code] : undefined;
  return (
    <div role="alert" className="notice error">
      <p>{error.message}</p>
      {hint ? <p>{hint}</p> : null}
      {api.requestId ? <p className="muted">Request {api.requestId}</p> : null}
    </div>
  );
}

export function EmptyState({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="empty">
      <p className="empty-title">{title}</p>
      {children}
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p role="status" className="muted">
      Loading {what}…
    </p>
  );
}

/** A query's three states: loading, failed, or its data handed to children. */
export function Loaded<T>({
  query,
  what,
  children,
}: {
  query: { data: T | undefined; error: Error | null; isPending: boolean };
  what: string;
  children: (data: T) => ReactNode;
}) {
  if (query.error) return <ErrorNotice error={query.error} />;
  if (query.isPending || query.data === undefined) return <Loading what={what} />;
  return <>{children(query.data)}</>;
}

export function Success({ children }: { children: ReactNode }) {
  return (
    <div role="status" className="notice success">
      {children}
    </div>
  );
}

/** A secret the API answers once (a new key, a client secret): shown until the user says it is copied. */
export function ShownOnce({ what, secret, onDone }: { what: ReactNode; secret: string; onDone: () => void }) {
  return (
    <div role="status" className="notice success secret">
      <p>{what} — copy it now, it is not shown again:</p>
      <code data-testid="shown-once">{secret}</code>
      <button type="button" className="button secondary" onClick={onDone}>
        I have copied it
      </button>
    </div>
  );
}
