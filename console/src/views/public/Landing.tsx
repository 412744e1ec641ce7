import { Link } from 'react-router';
import { useSession } from '../../auth/session';
import { Button } from '../../ui/forms';

export function Landing() {
  const { signIn, error } = useSession();
  return (
    <main className="page narrow">
      <h1>Vlinders console</h1>
      <p className="intro">
        Manage your organization, API keys, usage and billing; operators run the platform from here.
      </p>
      {error ? (
        <p role="alert" className="notice error">
          {error}
        </p>
      ) : null}
      <div className="actions">
        <Button onPress={() => signIn('/console/')}>Sign in</Button>
        <Link to="/sign-up" className="button secondary">
          Create an account
        </Link>
      </div>
      <p>
        <Link to="/reset-password">Forgot your password?</Link>
      </p>
    </main>
  );
}
