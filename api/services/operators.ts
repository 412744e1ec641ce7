// Platform operators: users with platform_role 'operator', who run the platform itself (key
// rotation, the Temporal codec) rather than belonging to a tenant.
import { eq } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { users } from '../../db/schema/index.js';

export const operatorRole = 'operator';

export async function isPlatformOperator(db: Db, userId: string): Promise<boolean> {
  const [user] = await db
    .select({ platformRole: users.platformRole })
    .from(users)
    .where(eq(users.id, userId));
  return user?.platformRole === operatorRole;
}
