import { rows, sql, type Db } from '../db';
import { mc, type Millicredits } from '../money/credits';
import type { BudgetPeriodKind } from './types';

/**
 * The ledger's reports: what the digest, /metrics and the worker's recovery read of budgets, periods and holds,
 * as SQL aggregates. A hold belongs to the day it was taken, so a day's spending is the holds created in it:
 * committed at their actual cost, released (refunded), or still open (held). Each day's query reads one range of
 * the (team_id, created_at) index of holds.
 */

/** A span of time, [start, end): a workspace's local day or report period. */
export interface Span {
  start: Date;
  end: Date;
}

export interface BudgetLine {
  budgetId: number;
  period: BudgetPeriodKind;
  hard: boolean;
  /** Limit plus the period's approved allowance. */
  limitMc: Millicredits;
  committedMc: Millicredits;
  heldMc: Millicredits;
  closed: boolean;
}

export interface DayTotals {
  committedMc: Millicredits;
  committedCount: number;
  /** Released holds: failed tasks and cancelled jobs cost nothing. */
  refundedMc: Millicredits;
  refundedCount: number;
  heldMc: Millicredits;
  heldCount: number;
}

/** One person's day; `userId` null is "the rest" past the top ten, `people` of them. */
export interface PersonLine {
  userId: string | null;
  people: number;
  committedMc: Millicredits;
  heldMc: Millicredits;
  refundedMc: Millicredits;
  videos: number;
}

/** One project tag's day (tagged jobs only), biggest first. */
export interface TagLine {
  tag: string;
  committedMc: Millicredits;
  heldMc: Millicredits;
  videos: number;
}

export interface TrendPoint {
  date: string;
  committedMc: Millicredits;
  refundedMc: Millicredits;
}

export interface PeriodStarts {
  day: Date;
  week: Date;
  month: Date;
}

const TOP = 10;
const n = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));
const amount = (v: unknown): Millicredits => mc(n(v));
const ts = (d: Date) => sql`${d.toISOString()}::timestamptz`;

export class LedgerReports {
  constructor(private readonly db: Db) {}

  /**
   * Freezes every period of the team that ended by `now`: closed_at marks its totals final. The counters are left
   * as they are; a hold still open stays in its period and is reported there as held.
   */
  async closePeriods(teamId: string, now: Date): Promise<number> {
    const closed = await rows(
      this.db,
      sql`
      update budget_periods bp set closed_at = ${ts(now)}
      from budgets b
      where b.id = bp.budget_id and b.team_id = ${teamId} and bp.closed_at is null and bp.period_end <= ${ts(now)}
      returning bp.budget_id`,
    );
    return closed.length;
  }

  /** The workspace budgets in the periods containing the day: committed and held from each period's ledger entries. */
  async budgetLines(teamId: string, periods: PeriodStarts): Promise<BudgetLine[]> {
    const result = await rows<Record<string, unknown>>(
      this.db,
      sql`
      with b as (
        select b.*, case b.period when 'day' then ${ts(periods.day)} when 'week' then ${ts(periods.week)}
                                  else ${ts(periods.month)} end as ps
        from budgets b where b.team_id = ${teamId} and b.scope = 'workspace'
      )
      select b.id, b.period::text as period, b.hard,
             coalesce(bp.limit_mc, b.limit_mc) + coalesce(bp.allowance_mc, 0) as limit_mc,
             bp.closed_at is not null as closed,
             coalesce(u.committed_mc, 0) as committed_mc, coalesce(u.held_mc, 0) as held_mc
      from b
      left join budget_periods bp on bp.budget_id = b.id and bp.period_start = b.ps
      left join lateral (
        -- The period's entries: commits carry the actual cost; all charged deltas add up to committed + held.
        select sum(e.amount_mc) filter (where e.kind = 'commit') as committed_mc,
               sum(e.charged_delta_mc) - coalesce(sum(e.amount_mc) filter (where e.kind = 'commit'), 0) as held_mc
        from ledger_entries e
        where e.budget_id = b.id and e.period_start = b.ps
      ) u on true
      order by array_position(array['day','week','month'], b.period::text), b.id`,
    );
    return result.map((r) => ({
      budgetId: n(r.id),
      period: r.period as BudgetPeriodKind,
      hard: Boolean(r.hard),
      limitMc: amount(r.limit_mc),
      committedMc: amount(r.committed_mc),
      heldMc: amount(r.held_mc),
      closed: Boolean(r.closed),
    }));
  }

  async totals(teamId: string, day: Span): Promise<DayTotals> {
    const [r] = await rows<Record<string, unknown>>(
      this.db,
      sql`
      select coalesce(sum(h.actual_mc) filter (where h.status = 'committed'), 0) as committed_mc,
             count(*) filter (where h.status = 'committed') as committed_count,
             coalesce(sum(h.amount_mc) filter (where h.status = 'released'), 0) as refunded_mc,
             count(*) filter (where h.status = 'released') as refunded_count,
             coalesce(sum(h.amount_mc) filter (where h.status = 'open'), 0) as held_mc,
             count(*) filter (where h.status = 'open') as held_count
      from holds h
      where h.team_id = ${teamId} and h.created_at >= ${ts(day.start)} and h.created_at < ${ts(day.end)}`,
    );
    return {
      committedMc: amount(r!.committed_mc),
      committedCount: n(r!.committed_count),
      refundedMc: amount(r!.refunded_mc),
      refundedCount: n(r!.refunded_count),
      heldMc: amount(r!.held_mc),
      heldCount: n(r!.held_count),
    };
  }

  /** The ten biggest spenders (committed + held) and one line for everyone else. */
  async people(teamId: string, day: Span): Promise<PersonLine[]> {
    const result = await rows<Record<string, unknown>>(
      this.db,
      sql`
      with per_user as (
        select h.user_id,
               coalesce(sum(h.actual_mc) filter (where h.status = 'committed'), 0) as committed_mc,
               coalesce(sum(h.amount_mc) filter (where h.status = 'open'), 0) as held_mc,
               coalesce(sum(h.amount_mc) filter (where h.status = 'released'), 0) as refunded_mc,
               count(*) filter (where h.status = 'committed') as videos
        from holds h
        where h.team_id = ${teamId} and h.created_at >= ${ts(day.start)} and h.created_at < ${ts(day.end)}
        group by h.user_id
      ), ranked as (
        select *, row_number() over (order by committed_mc + held_mc desc, user_id) as rank from per_user
      )
      select least(rank, ${TOP + 1}) as slot, min(user_id) as user_id, count(*) as people,
             sum(committed_mc) as committed_mc, sum(held_mc) as held_mc, sum(refunded_mc) as refunded_mc,
             sum(videos) as videos
      from ranked group by 1 order by 1`,
    );
    return result.map((r) => ({
      userId: n(r.slot) > TOP ? null : String(r.user_id),
      people: n(r.people),
      committedMc: amount(r.committed_mc),
      heldMc: amount(r.held_mc),
      refundedMc: amount(r.refunded_mc),
      videos: n(r.videos),
    }));
  }

  /** Spending per project tag (committed + held), biggest first; untagged jobs are left out. */
  async tags(teamId: string, day: Span): Promise<TagLine[]> {
    const result = await rows<Record<string, unknown>>(
      this.db,
      sql`
      select h.tag,
             coalesce(sum(h.actual_mc) filter (where h.status = 'committed'), 0) as committed_mc,
             coalesce(sum(h.amount_mc) filter (where h.status = 'open'), 0) as held_mc,
             count(*) filter (where h.status = 'committed') as videos
      from holds h
      where h.team_id = ${teamId} and h.created_at >= ${ts(day.start)} and h.created_at < ${ts(day.end)}
        and h.tag is not null
      group by h.tag
      having count(*) filter (where h.status <> 'released') > 0
      order by 2 + 3 desc, h.tag`,
    );
    return result.map((r) => ({
      tag: String(r.tag),
      committedMc: amount(r.committed_mc),
      heldMc: amount(r.held_mc),
      videos: n(r.videos),
    }));
  }

  /** Committed and refunded on each of the given local days: one indexed range per day, so DST-long days are exact. */
  async trend(teamId: string, days: (Span & { date: string })[]): Promise<TrendPoint[]> {
    const values = sql.join(
      days.map((d) => sql`(${d.date}, ${ts(d.start)}, ${ts(d.end)})`),
      sql`, `,
    );
    const result = await rows<Record<string, unknown>>(
      this.db,
      sql`
      select d.date, t.committed_mc, t.refunded_mc
      from (values ${values}) as d(date, start_at, end_at)
      cross join lateral (
        select coalesce(sum(actual_mc) filter (where status = 'committed'), 0) as committed_mc,
               coalesce(sum(amount_mc) filter (where status = 'released'), 0) as refunded_mc
        from holds where team_id = ${teamId} and created_at >= d.start_at and created_at < d.end_at
      ) t
      order by d.start_at`,
    );
    return result.map((r) => ({
      date: String(r.date),
      committedMc: amount(r.committed_mc),
      refundedMc: amount(r.refunded_mc),
    }));
  }

  /** Credits held by open holds and committed, over every workspace (for /metrics). */
  async creditTotals(): Promise<{ heldMc: Millicredits; committedMc: Millicredits }> {
    const [row] = await rows<{ held: number | null; committed: number | null }>(
      this.db,
      sql`
      select sum(amount_mc) filter (where status = 'open')::int8 as held,
             sum(actual_mc) filter (where status = 'committed')::int8 as committed
      from holds`,
    );
    return { heldMc: amount(row?.held), committedMc: amount(row?.committed) };
  }

  /** The holds still open, by id: the worker's recovery looks among them for jobs that ended unsettled. */
  async openHoldIds(): Promise<string[]> {
    const found = await rows<{ id: string }>(this.db, sql`select id::text as id from holds where status = 'open'`);
    return found.map((r) => r.id);
  }
}
