import { useMutation } from '@tanstack/react-query';
import { Link, useSearchParams } from 'react-router';
import type { ApiError } from '../../api/client';
import { postPublic } from '../../api/public';
import { Button, Form, TextInput } from '../../ui/forms';
import { Success } from '../../ui/notices';

/** Without a token: ask for a reset link. With the token from that mail: choose a new password. */
export function ResetPassword() {
  const [params] = useSearchParams();
  const token = params.get('token');
  const request = useMutation<{ message: string }, ApiError, FormData>({
    mutationFn: (values) => postPublic('/api/auth/password-reset', { email: values.get('email') }),
  });
  const confirm = useMutation<unknown, ApiError, FormData>({
    mutationFn: (values) =>
      postPublic('/api/auth/password-reset/confirm', { token, password: values.get('password') }),
  });
  return (
    <main className="page narrow">
      <h1>Reset your password</h1>
      {token ? (
        confirm.isSuccess ? (
          <Success>
            <p>Your password is changed and every session ended. Sign in with the new password.</p>
          </Success>
        ) : (
          <Form label="Choose a new password" error={confirm.error} onSubmit={(v) => confirm.mutate(v)}>
            <TextInput
              name="password"
              label="New password"
              type="password"
              autoComplete="new-password"
              isRequired
            />
            <Button type="submit" isDisabled={confirm.isPending}>
              Set password
            </Button>
          </Form>
        )
      ) : request.data ? (
        <Success>
          <p>{request.data.message}</p>
        </Success>
      ) : (
        <Form label="Request a reset link" error={request.error} onSubmit={(v) => request.mutate(v)}>
          <TextInput name="email" label="Email" type="email" autoComplete="email" isRequired />
          <Button type="submit" isDisabled={request.isPending}>
            Mail me a link
          </Button>
        </Form>
      )}
      <p>
        <Link to="/">Back to sign-in</Link>
      </p>
    </main>
  );
}
