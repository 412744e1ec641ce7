// The console's only way to the platform: the same /api routes curl uses, with the signed-in user's
// access token. Errors keep the API's code and, for validation errors, the problem of each field.
import { useMutation, useQuery, useQueryClient, type UseQueryOptions } from '@tanstack/react-query';
import { useCallback } from 'react';
import { useSession } from '../auth/session';

interface ErrorBody {
  error?: {
    code?: string;
    message?: string;
    requestId?: string;
    details?: { problems?: { field: string; message: string }[] };
  };
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly requestId: string | null,
    /** Field name (without the `body.` prefix) → what is wrong with it. */
    readonly fieldErrors: Record<string, string>,
  ) {
    super(message);
  }
}

export async function apiErrorOf(response: Response): Promise<ApiError> {
  const body = (await response.json().catch(() => ({}))) as ErrorBody;
  const fieldErrors: Record<string, string> = {};
  for (const problem of body.error?.details?.problems ?? []) {
    const field = problem.field.replace(/^(body|query|params)\.?/, '');
    if (field) fieldErrors[field] = problem.message;
  }
  return new ApiError(
    response.status,
    body.error?.code ?? 'HTTP_' + response.status,
    body.error?.message ?? `The request failed (HTTP ${response.status}).`,
    body.error?.requestId ?? null,
    fieldErrors,
  );
}

export type Send = <T>(method: string, path: string, body?: unknown) => Promise<T>;

export function useSend(): Send {
  const { accessToken } = useSession();
  return useCallback(
    async <T>(method: string, path: string, body?: unknown): Promise<T> => {
      const token = await accessToken();
      const response = await fetch(path, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      if (!response.ok) throw await apiErrorOf(response);
      if (response.status === 204) return undefined as T;
      const type = response.headers.get('content-type') ?? '';
      return (type.includes('json') ? await response.json() : await response.text()) as T;
    },
    [accessToken],
  );
}

/** A GET of an API path, cached under the path itself. */
export function useApiQuery<T>(
  path: string | null,
  options: Omit<UseQueryOptions<T, ApiError>, 'queryKey' | 'queryFn'> = {},
) {
  const send = useSend();
  return useQuery<T, ApiError>({
    queryKey: [path],
    queryFn: () => send<T>('GET', path!),
    enabled: path !== null,
    ...options,
  });
}

/** A change through the API; on success the listed paths are read again. */
export function useApiMutation<T, V = unknown>(
  request: (variables: V) => { method: string; path: string; body?: unknown },
  invalidates: string[] = [],
) {
  const send = useSend();
  const queries = useQueryClient();
  return useMutation<T, ApiError, V>({
    mutationFn: (variables) => {
      const { method, path, body } = request(variables);
      return send<T>(method, path, body);
    },
    onSuccess: () =>
      Promise.all(
        invalidates.map((path) =>
          queries.invalidateQueries({
            predicate: (q) => typeof q.queryKey[0] === 'string' && q.queryKey[0].startsWith(path),
          }),
        ),
      ),
  });
}
