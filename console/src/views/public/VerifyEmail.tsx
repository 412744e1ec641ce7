import { useMutation } from '@tanstack/react-query';
import { useEffect } from 'react';
import { useSearchParams } from 'react-router';
import type { ApiError } from '../../api/client';
import { postPublic } from '../../api/public';
import { useSession } from '../../auth/session';
import { Button } from '../../ui/forms';
import { ErrorNotice, Loading, Success } from '../../ui/notices';

/** The page the sign-up mail links to: spends the token once, then offers to sign in. */
export function VerifyEmail() {
  const [params] = useSearchParams();
  const token = params.get('token') ?? '';
  const { signIn, status } = useSession();
  const verify = useMutation<unknown, ApiError, string>({
    mutationFn: (t) => postPublic('/api/auth/verify-email', { token: t }),
  });
  const { mutate } = verify;
  useEffect(() => {
    if (token) mutate(token);
  }, [token, mutate]);
  return (
    <main className="page narrow">
      <h1>Verify your email</h1>
      {!token ? <p role="alert">This link has no token; open the link from the mail again.</p> : null}
      {verify.isPending ? <Loading what="the verification" /> : null}
      {verify.error ? <ErrorNotice error={verify.error} /> : null}
      {verify.isSuccess ? (
        <Success>
          <p>Your email address is verified.</p>
          {status === 'signed-out' ? <Button onPress={() => signIn('/console/')}>Sign in</Button> : null}
        </Success>
      ) : null}
    </main>
  );
}
