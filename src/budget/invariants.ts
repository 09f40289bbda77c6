import { rows, sql, type Db } from '../db';

/**
 * The ledger's invariants (listed in README.md), checked in SQL against everything in the database.
 * Returns one line per violation; an empty list means the ledger is sound.
 */
export async function checkInvariants(db: Db): Promise<string[]> {
  const problems: string[] = [];

  // Each period counter equals the sum of its ledger entries.
  for (const r of await rows<{
    budget_id: number;
    period_start: string;
    charged: number;
    allowance: number;
    charged_sum: number;
    allowance_sum: number;
  }>(
    db,
    sql`
    select coalesce(p.budget_id, e.budget_id) as budget_id, coalesce(p.period_start, e.period_start) as period_start,
           coalesce(p.charged_mc, 0) as charged, coalesce(p.allowance_mc, 0) as allowance,
           coalesce(e.charged, 0) as charged_sum, coalesce(e.allowance, 0) as allowance_sum
    from budget_periods p
    full join (select budget_id, period_start, sum(charged_delta_mc) as charged, sum(allowance_delta_mc) as allowance
               from ledger_entries group by budget_id, period_start) e
      on e.budget_id = p.budget_id and e.period_start = p.period_start
    where p.budget_id is null or p.charged_mc <> coalesce(e.charged, 0) or p.allowance_mc <> coalesce(e.allowance, 0)`,
  )) {
    problems.push(
      `budget ${r.budget_id} period ${r.period_start}: charged ${r.charged} / allowance ${r.allowance} but its entries sum to ${r.charged_sum} / ${r.allowance_sum}`,
    );
  }

  // Each period's charge is its open holds (held) plus the actual cost of its committed holds.
  for (const r of await rows<{
    budget_id: number;
    period_start: string;
    charged: number;
    held: number;
    committed: number;
  }>(
    db,
    sql`
    select p.budget_id, p.period_start, p.charged_mc as charged, coalesce(h.held, 0) as held, coalesce(h.committed, 0) as committed
    from budget_periods p
    left join (select e.budget_id, e.period_start,
                      sum(h.amount_mc) filter (where h.status = 'open') as held,
                      sum(h.actual_mc) filter (where h.status = 'committed') as committed
               from ledger_entries e join holds h on h.id = e.hold_id
               where e.kind = 'reserve' group by e.budget_id, e.period_start) h
      on h.budget_id = p.budget_id and h.period_start = p.period_start
    where p.charged_mc <> coalesce(h.held, 0) + coalesce(h.committed, 0)`,
  )) {
    problems.push(
      `budget ${r.budget_id} period ${r.period_start}: charged ${r.charged} but open holds ${r.held} + committed ${r.committed}`,
    );
  }

  // An open hold has only its reserve entries; a settled one exactly one settlement per reserve entry.
  for (const r of await rows<{ id: string; status: string; reserves: number; settlements: number }>(
    db,
    sql`
    select h.id, h.status,
           count(*) filter (where e.kind = 'reserve') as reserves,
           count(*) filter (where e.kind in ('commit', 'release')) as settlements
    from holds h left join ledger_entries e on e.hold_id = h.id
    group by h.id, h.status
    having count(*) filter (where e.kind in ('commit', 'release')) <> case h.status when 'open' then 0 else count(*) filter (where e.kind = 'reserve') end`,
  )) {
    problems.push(`hold ${r.id} (${r.status}): ${r.reserves} reserve entries but ${r.settlements} settlements`);
  }

  // Each reserve entry is on a budget that applies to its hold: the workspace's, or its channel's, person's or tag's.
  for (const r of await rows<{ hold_id: string; budget_id: number; scope: string }>(
    db,
    sql`
    select e.hold_id, e.budget_id, b.scope::text as scope
    from ledger_entries e join holds h on h.id = e.hold_id join budgets b on b.id = e.budget_id
    where e.kind = 'reserve' and b.scope_id is distinct from case b.scope when 'workspace' then h.team_id
      when 'channel' then h.channel_id when 'user' then h.user_id when 'tag' then h.tag end`,
  )) {
    problems.push(`hold ${r.hold_id} was reserved on ${r.scope} budget ${r.budget_id}, which does not apply to it`);
  }

  // No hard budget is charged beyond its limit + allowance + the raises that overlapped the period, apart from
  // what Kling charged above an estimate. The limit is the most the period ever honoured: an admin may lower it
  // below what was already charged (the 'limit' entries record what applied before each change). Each
  // reservation fitted the raises active at its own time, a part of those that overlapped the period.
  for (const r of await rows<{
    budget_id: number;
    period_start: string;
    charged: number;
    room: number;
    overrun: number;
  }>(
    db,
    sql`
    select p.budget_id, p.period_start, p.charged_mc as charged, x.room, coalesce(o.overrun, 0) as overrun
    from budget_periods p
    left join (select budget_id, period_start,
                      sum(charged_delta_mc) filter (where kind = 'commit' and charged_delta_mc > 0) as overrun,
                      max(amount_mc) filter (where kind = 'limit') as honoured
               from ledger_entries group by budget_id, period_start) o
      on o.budget_id = p.budget_id and o.period_start = p.period_start
    cross join lateral (
      select greatest(p.limit_mc, o.honoured) + p.allowance_mc + budget_raised_in(p.budget_id, p.period_start, p.period_end)
        as room
    ) x
    where p.hard and p.charged_mc - coalesce(o.overrun, 0) > x.room`,
  )) {
    problems.push(
      `hard budget ${r.budget_id} period ${r.period_start}: charged ${r.charged} exceeds its limit ${r.room}`,
    );
  }
  return problems;
}
