import { rows, sql, type Db } from '../db';

/** The figures /metrics reads at scrape time, straight from the ledger and the queue tables. */

export async function jobsByState(db: Db): Promise<{ state: string; count: number }[]> {
  return rows<{ state: string; count: number }>(db, sql`select state::text as state, count(*)::int8 as count from generations group by state`);
}

export async function creditTotals(db: Db): Promise<{ heldMc: number; committedMc: number }> {
  const [row] = await rows<{ held: number | null; committed: number | null }>(
    db,
    sql`select sum(amount_mc) filter (where status = 'open')::int8 as held, sum(actual_mc) filter (where status = 'committed')::int8 as committed from holds`,
  );
  return { heldMc: row?.held ?? 0, committedMc: row?.committed ?? 0 };
}

/** Workspaces whose queue Kling's refusal of the account paused (each waits for an admin to resume it). */
export async function pausedWorkspaces(db: Db): Promise<number> {
  const [row] = await rows<{ n: number }>(
    db,
    sql`select count(*)::int as n from workspaces where queue_paused_at is not null`,
  );
  return row?.n ?? 0;
}
