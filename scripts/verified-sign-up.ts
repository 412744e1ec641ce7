// Signs a new user up against a running API the way a person does: sign-up, the verification link
// from the mail (read where the embedded mailer writes it, MAIL_DIR), then login. For the scripts
// and benchmarks that drive `up` over HTTP.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface VerifiedSession {
  user: { id: string };
  accessToken: string;
}

/** A JSON POST to the API, with a bearer token when given. */
export async function postJson(url: string, body: unknown, token?: string): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
}

/** The token of the verification mail to `to`, waiting up to 30 s for its delivery. */
async function verificationToken(mailDir: string, to: string): Promise<string> {
  for (let waited = 0; waited < 30_000; waited += 250) {
    const names = await readdir(mailDir).catch(() => [] as string[]);
    for (const name of names.filter((n) => n.endsWith('.json'))) {
      const mail = JSON.parse(await readFile(join(mailDir, name), 'utf8')) as { to: string; text: string };
      const token = mail.to === to ? /\/verify-email\?token=([\w-]+)/.exec(mail.text)?.[1] : undefined;
      if (token) return token;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`no verification mail to ${to} in ${mailDir}: is the API writing mail there (MAIL_DIR)?`);
}

export async function signUpVerified(
  apiUrl: string,
  mailDir: string,
  account: { email: string; password: string },
): Promise<VerifiedSession> {
  const signedUp = await postJson(`${apiUrl}/api/auth/signup`, account);
  if (signedUp.status !== 202) throw new Error(`sign-up: ${signedUp.status} ${await signedUp.text()}`);
  const token = await verificationToken(mailDir, account.email.toLowerCase());
  const verified = await postJson(`${apiUrl}/api/auth/verify-email`, { token });
  if (verified.status !== 204) throw new Error(`verification: ${verified.status} ${await verified.text()}`);
  const session = await postJson(`${apiUrl}/api/auth/login`, account);
  if (!session.ok) throw new Error(`login: ${session.status} ${await session.text()}`);
  return (await session.json()) as VerifiedSession;
}
