import { rows, sql, type Db } from '../db';

/** The figures /metrics reads at scrape time from the queue's table (the ledger's come from its reports). */

export async function jobsByState(db: Db): Promise<{ state: string; count: number }[]> {
  return rows<{ state: string; count: number }>(db, sql`select state::text as state, count(*)::int8 as count from generations group by state`);
}
