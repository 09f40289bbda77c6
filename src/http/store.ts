import { rows, sql, type Db } from '../db';

/** The figures /metrics reads at scrape time from the queue's table (the ledger's come from its reports). */

export async function jobsByState(db: Db): Promise<{ state: string; count: number }[]> {
  return rows<{ state: string; count: number }>(
    db,
    sql`select state::text as state, count(*)::int8 as count from generations group by state`,
  );
}

/** Workspaces whose queue Kling's refusal of the account paused (each waits for an admin to resume it). */
export async function pausedWorkspaces(db: Db): Promise<number> {
  const [row] = await rows<{ n: number }>(
    db,
    sql`select count(*)::int as n from workspaces where queue_paused_at is not null`,
  );
  return row?.n ?? 0;
}
