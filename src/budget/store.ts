// The ledger's SQL layer. Write paths are the plpgsql functions of src/db/sql/10_ledger.sql (one
// statement, one round trip each); the rest are plain queries.
import { rows, sql, type Db } from '../db';
import type { Millicredits } from '../money/credits';
import { LedgerError, type BudgetInput, type BudgetPeriodKind, type BudgetScope, type RequestScope, type WorkspaceSettings } from './types';

/** A budget as the SQL functions and queries below return it (camelCase json or aliased columns). */
export interface BudgetRow {
  id: number;
  teamId?: string;
  scope: BudgetScope;
  scopeId: string;
  period: BudgetPeriodKind;
  limitMc: number;
  hard: boolean;
  thresholds: number[];
}

/** One budget's current period as ledger_reserve reports it. */
export interface ReservedBudget extends BudgetRow {
  periodStart: string;
  periodEnd: string;
  needMc: number;
  chargedMc: number;
  periodLimitMc: number;
  periodHard: boolean;
}

export interface EventRow {
  kind: 'threshold' | 'exhausted';
  budgetId: number;
  periodStart: string;
  threshold?: number;
  chargedMc: number;
  limitMc: number;
  triggeredBy: string;
}

export type ReserveOutcome =
  | { ok: true; holds: { id: string; amountMc: number; generationId: string | null }[]; budgets: ReservedBudget[]; events: EventRow[] }
  | { ok: false; refusedBudgetId: number; budgets: ReservedBudget[]; events: EventRow[] };

export interface UsageRow extends BudgetRow {
  teamId: string;
  periodStart: string;
  periodEnd: string;
  limitWithAllowanceMc: number;
  chargedMc: number;
  heldMc: number;
}

/** jsonb arrives parsed from postgres.js and as text from some paths; accept both. */
export function json<T>(value: unknown): T {
  return (typeof value === 'string' && value !== '' ? JSON.parse(value) : value) as T;
}

/** Errors the ledger functions raise on purpose (unknown hold or budget, commit after release). */
const LEDGER_ERRORS = new Set(['P0002', '25000']);

/** Runs a ledger function; a refusal it raises on purpose becomes a LedgerError with its own message. */
async function callFunction<T>(db: Db, query: ReturnType<typeof sql>): Promise<T> {
  try {
    const [row] = await rows<{ r: unknown }>(db, query);
    return json<T>(row!.r);
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    if (cause?.code && LEDGER_ERRORS.has(cause.code)) throw new LedgerError(cause.message ?? String(error));
    throw error;
  }
}

/** Each batch through ledger_reserve, in order, in one statement. */
export function reserveEach(db: Db, teamId: string, batches: object[][], now: Date): Promise<ReserveOutcome[]> {
  return callFunction(db, sql`select ledger_reserve_each(${teamId}, ${JSON.stringify(batches)}::jsonb, ${now.toISOString()}::timestamptz) as r`);
}

export interface Settlement {
  holdId: string;
  status: 'committed' | 'released';
  actualMc: Millicredits | null;
  reason: string | null;
  now: Date;
}

export type SettleOutcome = { events: EventRow[]; settled: boolean; status: string };

export function settle(db: Db, { holdId, status, actualMc, reason, now }: Settlement): Promise<SettleOutcome> {
  return callFunction(db, sql`select ledger_settle(${holdId}::uuid, ${status}::hold_status, ${actualMc}::bigint, ${reason}::text, ${now.toISOString()}::timestamptz) as r`);
}

export async function adjust(db: Db, budgetId: number, amountMc: Millicredits, by: string, why: string, now: Date): Promise<void> {
  await callFunction(db, sql`select ledger_adjust(${budgetId}::bigint, ${amountMc}::bigint, ${by}, ${why}, ${now.toISOString()}::timestamptz) as r`);
}

const workspaceColumns = sql`team_id as "teamId", timezone, alerts_channel_id as "alertsChannelId", confirm_threshold_mc as "confirmThresholdMc"`;

/** Creates the workspace and its default daily budget once; returns it either way, and whether this call created it. */
export async function ensureWorkspace(
  db: Db, teamId: string, defaults: { timezone: string; dailyLimitMc: Millicredits; confirmThresholdMc: Millicredits | null },
): Promise<{ workspace: WorkspaceSettings; created: boolean }> {
  const { timezone, dailyLimitMc, confirmThresholdMc } = defaults;
  const [created] = await rows<WorkspaceSettings>(db, sql`
    with ws as (
      insert into workspaces (team_id, timezone, confirm_threshold_mc) values (${teamId}, ${timezone}, ${confirmThresholdMc}::bigint)
      on conflict do nothing returning *
    ), budget as (
      insert into budgets (team_id, scope, scope_id, period, limit_mc, updated_by)
      select team_id, 'workspace', team_id, 'day', ${dailyLimitMc}, 'default' from ws
    )
    select ${workspaceColumns} from ws`);
  if (created) return { workspace: created, created: true };
  // It existed (or a concurrent call created it first, committed by now: ON CONFLICT waited for it).
  const [existing] = await rows<WorkspaceSettings>(db, sql`select ${workspaceColumns} from workspaces where team_id = ${teamId}`);
  return { workspace: existing!, created: false };
}

export async function setConfirmThreshold(db: Db, teamId: string, thresholdMc: Millicredits | null): Promise<void> {
  await db.execute(sql`update workspaces set confirm_threshold_mc = ${thresholdMc}::bigint where team_id = ${teamId}`);
}

export async function updateWorkspace(db: Db, teamId: string, change: { timezone?: string; alertsChannelId?: string }): Promise<void> {
  await db.execute(sql`
    update workspaces set
      timezone = coalesce(${change.timezone ?? null}, timezone),
      alerts_channel_id = coalesce(${change.alertsChannelId ?? null}, alerts_channel_id)
    where team_id = ${teamId}`);
}

const budgetColumns = sql`b.id, b.team_id as "teamId", b.scope, b.scope_id as "scopeId", b.period, b.limit_mc as "limitMc", b.hard, b.thresholds`;

/**
 * Creates or changes a budget; the current period's limit follows (closed periods keep theirs) and each
 * change to it is recorded as a 'limit' entry. Two statements: the second reads the period only once the
 * budget row is ours, so a period that a concurrent reservation was opening with the old limit (it holds
 * the budget row FOR SHARE meanwhile) is seen and changed too.
 */
export async function upsertBudget(db: Db, input: BudgetInput, now: Date): Promise<BudgetRow> {
  const thresholds = input.thresholds ? `{${input.thresholds.join(',')}}` : null;
  return db.transaction(async (tx) => {
    const [budget] = await rows<BudgetRow>(tx, sql`
      insert into budgets as b (team_id, scope, scope_id, period, limit_mc, thresholds, hard, updated_by)
      values (${input.teamId}, ${input.scope}, ${input.scopeId}, ${input.period}, ${input.limitMc},
              coalesce(${thresholds}::integer[], '{80,100}'), coalesce(${input.hard ?? null}::boolean, true), ${input.by})
      on conflict (team_id, scope, scope_id, period) do update set
        limit_mc = excluded.limit_mc,
        thresholds = coalesce(${thresholds}::integer[], b.thresholds),
        hard = coalesce(${input.hard ?? null}::boolean, b.hard),
        updated_by = excluded.updated_by,
        updated_at = now()
      returning ${budgetColumns}`);
    const { id, limitMc, hard } = budget!;
    await tx.execute(sql`
      with current_period as (
        select p.budget_id, p.period_start, p.limit_mc, p.hard, p.charged_mc
        from budget_periods p join budgets b on b.id = p.budget_id join workspaces w on w.team_id = b.team_id
        where p.budget_id = ${id} and p.period_start = budget_period_start(b.period, ${now.toISOString()}::timestamptz, w.timezone)
        for update of p
      ), changed as (
        update budget_periods p set limit_mc = ${limitMc}, hard = ${hard}
        from current_period c
        where p.budget_id = c.budget_id and p.period_start = c.period_start
      ), recorded as (
        -- Who changed it, from what to what; and what it had honoured so far, for checkInvariants.
        insert into ledger_entries (team_id, budget_id, period_start, kind, amount_mc, charged_delta_mc, actor, memo, created_at)
        select ${input.teamId}, c.budget_id, c.period_start, 'limit',
               case when c.hard then c.limit_mc else greatest(c.limit_mc, c.charged_mc) end, 0, ${input.by},
               format('limit %s → %s mc%s', c.limit_mc, ${limitMc}::bigint, case when c.hard = ${hard} then '' when ${hard} then ', now hard' else ', now soft' end),
               ${now.toISOString()}::timestamptz
        from current_period c
        where c.limit_mc <> ${limitMc} or c.hard <> ${hard}
      )
      select 1`);
    return budget!;
  });
}

export function budgetsOf(db: Db, teamId: string): Promise<BudgetRow[]> {
  return rows<BudgetRow>(db, sql`
    select ${budgetColumns} from budgets b where b.team_id = ${teamId}
    order by b.scope, b.scope_id, b.period`);
}

export function budgetsById(db: Db, ids: number[]): Promise<BudgetRow[]> {
  return rows<BudgetRow>(db, sql`select ${budgetColumns} from budgets b where b.id = any(${`{${ids.join(',')}}`}::bigint[])`);
}

/** Usage of each matching budget in the period containing `at`; held is the sum of its open holds. */
async function usageWhere(db: Db, where: ReturnType<typeof sql>, at: Date): Promise<UsageRow[]> {
  return rows<UsageRow>(db, sql`
    select ${budgetColumns}, pb.start as "periodStart", pb.end as "periodEnd",
           coalesce(p.limit_mc, b.limit_mc) + coalesce(p.allowance_mc, 0) as "limitWithAllowanceMc",
           coalesce(p.charged_mc, 0) as "chargedMc",
           (select coalesce(sum(e.amount_mc), 0) from ledger_entries e join holds h on h.id = e.hold_id
            where e.budget_id = b.id and e.period_start = pb.start and e.kind = 'reserve' and h.status = 'open') as "heldMc"
    from budgets b
    join workspaces w on w.team_id = b.team_id
    cross join lateral (select budget_period_start(b.period, ${at.toISOString()}::timestamptz, w.timezone) as start,
                               budget_period_end(b.period, ${at.toISOString()}::timestamptz, w.timezone) as end) pb
    left join budget_periods p on p.budget_id = b.id and p.period_start = pb.start
    where ${where}
    order by b.scope desc, b.period, b.scope_id`);
}

export function usageOfBudgets(db: Db, budgetIds: number[], at: Date): Promise<UsageRow[]> {
  return usageWhere(db, sql`b.id in ${budgetIds}`, at); // drizzle expands the array into ($1, $2, …)
}

/** Every budget that applies to this user in this channel: the workspace's, the channel's, the user's. */
export function usageOfScope(db: Db, scope: RequestScope, at: Date): Promise<UsageRow[]> {
  return usageWhere(db, sql`b.team_id = ${scope.teamId} and (b.scope = 'workspace'
      or (b.scope = 'channel' and b.scope_id = ${scope.channelId}) or (b.scope = 'user' and b.scope_id = ${scope.userId}))`, at);
}

export function undeliveredAlerts(db: Db, teamId?: string): Promise<(EventRow & { budget: BudgetRow })[]> {
  return rows(db, sql`
    select a.kind, a.budget_id as "budgetId", a.period_start as "periodStart", a.threshold, a.charged_mc as "chargedMc",
           a.limit_mc as "limitMc", a.triggered_by as "triggeredBy",
           json_build_object('id', b.id, 'teamId', b.team_id, 'scope', b.scope, 'scopeId', b.scope_id, 'period', b.period,
                             'limitMc', b.limit_mc, 'hard', b.hard, 'thresholds', b.thresholds) as budget
    from budget_alerts a join budgets b on b.id = a.budget_id
    where a.delivered_at is null and (a.claimed_until is null or a.claimed_until < now())
      ${teamId ? sql`and a.team_id = ${teamId}` : sql``}
    order by a.created_at, a.budget_id, a.threshold`);
}

export interface AlertKey { budgetId: number; periodStart: Date; kind: string; threshold: number }

const isAlert = (key: AlertKey) => sql`budget_id = ${key.budgetId}
  and period_start = ${key.periodStart.toISOString()}::timestamptz
  and kind = ${key.kind}::budget_alert_kind and threshold = ${key.threshold}`;

export async function claimAlert(db: Db, key: AlertKey, leaseMs: number): Promise<boolean> {
  const claimed = await rows(db, sql`
    update budget_alerts set claimed_until = now() + ${leaseMs} * interval '1 millisecond'
    where ${isAlert(key)} and delivered_at is null and (claimed_until is null or claimed_until < now())
    returning 1`);
  return claimed.length > 0;
}

export async function markAlertDelivered(db: Db, key: AlertKey): Promise<void> {
  await db.execute(sql`update budget_alerts set delivered_at = now() where ${isAlert(key)} and delivered_at is null`);
}


/** Actual costs committed in [from, to) across every workspace, and when the first of them was committed. */
export async function committedBetween(db: Db, from: Date, to: Date): Promise<{ mc: number; firstAt: Date | null }> {
  const [row] = await rows<{ mc: number | null; firstAt: string | null }>(db, sql`
    select sum(actual_mc) as mc, min(settled_at) as "firstAt" from holds
    where status = 'committed' and settled_at >= ${from.toISOString()}::timestamptz and settled_at < ${to.toISOString()}::timestamptz`);
  return { mc: Number(row?.mc ?? 0), firstAt: row?.firstAt ? new Date(row.firstAt) : null };
}
