import { useMutation } from '@tanstack/react-query';
import { Link } from 'react-router';
import type { ApiError } from '../../api/client';
import { postPublic } from '../../api/public';
import { Button, Form, optionalText, TextInput } from '../../ui/forms';
import { Success } from '../../ui/notices';

export function SignUp() {
  const signUp = useMutation<{ message: string }, ApiError, FormData>({
    mutationFn: (values) =>
      postPublic('/api/auth/signup', {
        email: values.get('email'),
        password: values.get('password'),
        displayName: optionalText(values, 'displayName'),
      }),
  });
  return (
    <main className="page narrow">
      <h1>Create an account</h1>
      {signUp.data ? (
        <Success>
          <p>{signUp.data.message}</p>
        </Success>
      ) : (
        <Form label="Create an account" error={signUp.error} onSubmit={(values) => signUp.mutate(values)}>
          <TextInput name="email" label="Email" type="email" autoComplete="email" isRequired />
          <TextInput name="displayName" label="Your name" autoComplete="name" />
          <TextInput
            name="password"
            label="Password"
            type="password"
            autoComplete="new-password"
            description="At least 12 characters."
            isRequired
          />
          <Button type="submit" isDisabled={signUp.isPending}>
            Create account
          </Button>
        </Form>
      )}
      <p>
        <Link to="/">Back to sign-in</Link>
      </p>
    </main>
  );
}
