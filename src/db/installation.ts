/** This database's identity (the `installation` row its migration created). */
import { sql } from 'drizzle-orm';
import type { Db } from './client.ts';
import { installation } from './schema.ts';

export async function installationId(db: Db): Promise<string> {
  // The migration inserts the row; this covers a database whose row was removed by hand.
  await db.insert(installation).values({}).onConflictDoNothing();
  const [row] = await db.select({ id: installation.id }).from(installation).where(sql`${installation.singleton}`).limit(1);
  return row!.id;
}
