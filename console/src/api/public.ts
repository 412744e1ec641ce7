// The few routes a signed-out visitor calls: sign-up, the mailed links, password reset.
import { apiErrorOf } from './client';

export async function postPublic<T>(path: string, body: unknown): Promise<T> {
  const response = await fetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw await apiErrorOf(response);
  return (response.status === 204 ? undefined : await response.json()) as T;
}
