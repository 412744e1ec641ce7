// The law's deadline of a data-subject request (workflows/gdpr-export.ts, gdpr-erasure.ts): a timer
// on the due date that flags the request overdue, once, if it has not finished by then. The request
// goes on either way; the flag is for operators to act on.
import { condition } from '@temporalio/workflow';

export async function watchDeadline(
  dueAt: string,
  finished: () => boolean,
  markOverdue: (at: string) => Promise<void>,
): Promise<void> {
  const untilDue = Math.max(0, new Date(dueAt).getTime() - Date.now());
  if (await condition(finished, untilDue)) return;
  await markOverdue(new Date().toISOString());
}
