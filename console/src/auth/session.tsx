// The signed-in session: tokens in memory (a reload signs in again, silently while the server's
// session lasts), renewed before they expire through refresh-token rotation.
import {
  createContext,
  useCallback,
  useContext,
  useEffect,
  useMemo,
  useRef,
  useState,
  type ReactNode,
} from 'react';
import { useNavigate } from 'react-router';
import {
  completeSignIn,
  refreshTokens,
  signOut as endSession,
  startSignIn,
  type ConsoleConfig,
  type Tokens,
} from './oidc';

/** Renew this long before the access token expires. */
const renewBeforeMs = 60_000;

export type SessionStatus = 'starting' | 'signed-in' | 'signed-out';

interface Session {
  config: ConsoleConfig;
  status: SessionStatus;
  error: string | null;
  accessToken: () => Promise<string>;
  signIn: (returnTo?: string) => void;
  signOut: () => void;
}

const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside SessionProvider');
  return session;
}

export const callbackPath = '/console/callback';

export function SessionProvider({ config, children }: { config: ConsoleConfig; children: ReactNode }) {
  const navigate = useNavigate();
  const [status, setStatus] = useState<SessionStatus>('starting');
  const [error, setError] = useState<string | null>(null);
  const tokens = useRef<Tokens | null>(null);
  const renewing = useRef<Promise<string> | null>(null);
  const timer = useRef<number | undefined>(undefined);
  // The start runs once: a code is spent once, and a later run (navigate changes with the location,
  // React's development double run) must not judge the session again.
  const started = useRef(false);
  // The renewal the timer runs: set below, once renew exists.
  const scheduledRenewal = useRef<() => Promise<string>>(() => Promise.reject(new Error('not ready')));

  const adopt = useCallback((next: Tokens) => {
    tokens.current = next;
    window.clearTimeout(timer.current);
    if (next.refreshToken) {
      const due = Math.max(next.expiresAt - Date.now() - renewBeforeMs, 5_000);
      timer.current = window.setTimeout(() => void scheduledRenewal.current().catch(() => undefined), due);
    }
    setStatus('signed-in');
  }, []);

  const drop = useCallback((reason: string | null) => {
    tokens.current = null;
    window.clearTimeout(timer.current);
    setError(reason);
    setStatus('signed-out');
  }, []);

  const renew = useCallback((): Promise<string> => {
    const current = tokens.current;
    if (!current?.refreshToken) {
      drop('Your session ended. Sign in again.');
      return Promise.reject(new Error('signed out'));
    }
    renewing.current ??= refreshTokens(config, current.refreshToken)
      .then((next) => {
        adopt(next);
        return next.accessToken;
      })
      .catch((err: unknown) => {
        drop('Your session ended. Sign in again.');
        throw err;
      })
      .finally(() => {
        renewing.current = null;
      });
    return renewing.current;
  }, [adopt, config, drop]);
  scheduledRenewal.current = renew;

  const accessToken = useCallback(async (): Promise<string> => {
    const current = tokens.current;
    if (!current) throw new Error('signed out');
    if (current.expiresAt - Date.now() > 5_000) return current.accessToken;
    return renew();
  }, [renew]);

  const signIn = useCallback(
    (returnTo?: string) => {
      void startSignIn(config, returnTo ?? window.location.pathname + window.location.search).catch(
        (err: unknown) => drop(err instanceof Error ? err.message : 'The sign-in could not start.'),
      );
    },
    [config, drop],
  );

  const signOut = useCallback(() => {
    const current = tokens.current;
    drop(null);
    void endSession(config, current);
  }, [config, drop]);

  useEffect(() => {
    if (started.current) return;
    started.current = true;
    if (window.location.pathname !== callbackPath) {
      setStatus('signed-out');
      return;
    }
    completeSignIn(config, new URL(window.location.href))
      .then(({ tokens: signedIn, returnTo }) => {
        // returnTo is a path of this page (/console/…); the router's paths are below /console.
        const inConsole = returnTo.startsWith('/console/') ? returnTo.slice('/console'.length) : '/';
        // To the page first: signed in on the callback's URL, the router would send the catch-all home.
        void navigate(inConsole, { replace: true });
        adopt(signedIn);
      })
      .catch((err: unknown) => {
        drop(err instanceof Error ? err.message : 'The sign-in failed.');
        void navigate('/', { replace: true });
      });
  }, [adopt, config, drop, navigate]);

  useEffect(() => () => window.clearTimeout(timer.current), []);

  const value = useMemo(
    () => ({ config, status, error, accessToken, signIn, signOut }),
    [config, status, error, accessToken, signIn, signOut],
  );
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}
