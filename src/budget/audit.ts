import { isDeepStrictEqual } from 'node:util';
import { rows, sql, type Db } from '../db';
import type { BudgetPeriodKind, BudgetScope, BudgetTarget, ChangeAuthor } from './types';

/**
 * The audit trail: every change that moves money or rules, with who, when, the old and new value and why,
 * written by the setter in the change's own transaction (table audit_events, append-only).
 */
export type AuditSubject =
  | 'limit'
  | 'hardness'
  | 'thresholds'
  | 'confirm-threshold'
  | 'alerts-channel'
  | 'forecast-alerts'
  | 'spike-alerts'
  | 'spike-factor'
  | 'spike-minimum'
  | 'timezone'
  | 'adjustment'
  | 'raise'
  | 'approval'
  | 'denial';

export interface AuditEntry {
  at: Date;
  actor: string;
  subject: AuditSubject;
  /** The budget changed, for limits, hardness, thresholds and adjustments. */
  budget?: BudgetTarget;
  /**
   * As stored: millicredits for limit, confirm-threshold, spike-minimum and adjustment; percents for
   * thresholds; a channel id, a zone, a boolean or a factor for the others; null when there was none. A raise's
   * old value is the limit in force when it was granted, its new value `{limitMc, amountMc, endsAt}`.
   */
  oldValue: unknown;
  newValue: unknown;
  /** The command as typed, or the approval it came from. */
  why: string | null;
}

export interface AuditRecord {
  teamId: string;
  subject: AuditSubject;
  budgetId?: number | null;
  oldValue: unknown;
  newValue: unknown;
}

export async function recordChanges(db: Db, changes: AuditRecord[], author: ChangeAuthor, at: Date): Promise<void> {
  if (!changes.length) return;
  const values = changes.map((c) => ({
    team_id: c.teamId,
    subject: c.subject,
    budget_id: c.budgetId ?? null,
    old_value: c.oldValue ?? null,
    new_value: c.newValue ?? null,
  }));
  await db.execute(sql`
    insert into audit_events (team_id, at, actor, subject, budget_id, old_value, new_value, why)
    select x.team_id, ${at.toISOString()}::timestamptz, ${author.by}, x.subject, x.budget_id, x.old_value, x.new_value,
           ${author.why ?? null}
    from jsonb_to_recordset(${JSON.stringify(values)}::jsonb)
      as x(team_id text, subject text, budget_id bigint, old_value jsonb, new_value jsonb, why text)`);
}

/** The workspace settings the trail follows, by column. */
const SETTINGS: Record<string, AuditSubject> = {
  confirm_threshold_mc: 'confirm-threshold',
  alerts_channel_id: 'alerts-channel',
  forecast_alerts: 'forecast-alerts',
  spike_alerts: 'spike-alerts',
  spike_factor: 'spike-factor',
  spike_min_mc: 'spike-minimum',
};

/**
 * Runs `change` on the workspace's row (locked meanwhile) and records each audited setting it changed,
 * old and new, in the same transaction.
 */
export async function auditedSettings(
  db: Db,
  teamId: string,
  author: ChangeAuthor,
  at: Date,
  change: (tx: Db) => Promise<void>,
): Promise<void> {
  await db.transaction(async (tx) => {
    const read = async (lock: boolean) => {
      const [found] = await rows<{ row: Record<string, unknown> }>(
        tx,
        sql`
        select to_jsonb(w) as row from workspaces w where team_id = ${teamId} ${lock ? sql`for update` : sql``}`,
      );
      return found?.row ?? {};
    };
    const before = await read(true);
    await change(tx);
    const after = await read(false);
    const changed = Object.entries(SETTINGS).flatMap(([column, subject]): AuditRecord[] => {
      const [from, to] = [before[column] ?? null, after[column] ?? null];
      return isDeepStrictEqual(from, to) ? [] : [{ teamId, subject, oldValue: from, newValue: to }];
    });
    await recordChanges(tx, changed, author, at);
  });
}

/** A budget's audited fields, before and after a change (before is undefined for a new budget). */
export function budgetChanges(
  teamId: string,
  budgetId: number,
  before: { limitMc: number; hard: boolean; thresholds: number[] } | undefined,
  after: { limitMc: number; hard: boolean; thresholds: number[] },
): AuditRecord[] {
  const fields: [AuditSubject, unknown, unknown][] = [
    ['limit', before ? Number(before.limitMc) : null, Number(after.limitMc)],
    ['hardness', before?.hard ?? null, after.hard],
    ['thresholds', before?.thresholds.map(Number) ?? null, after.thresholds.map(Number)],
  ];
  return (
    fields
      // A new budget's defaults (hard, 80/100) are not changes of their own: only its limit is recorded.
      .filter(([subject, from, to]) => (before ? !isDeepStrictEqual(from, to) : subject === 'limit'))
      .map(([subject, from, to]) => ({ teamId, subject, budgetId, oldValue: from, newValue: to }))
  );
}

/** At most `limit` changes of the team in [start, end), newest first, and how many there are in all. */
export async function auditTrail(
  db: Db,
  teamId: string,
  span: { start: Date; end: Date },
  limit: number,
): Promise<{ entries: AuditEntry[]; total: number }> {
  const found = await rows<Record<string, unknown>>(
    db,
    sql`
    select a.at, a.actor, a.subject, a.old_value, a.new_value, a.why,
           b.scope::text as scope, b.scope_id, b.period::text as period,
           count(*) over () as total
    from audit_events a left join budgets b on b.id = a.budget_id
    where a.team_id = ${teamId}
      and a.at >= ${span.start.toISOString()}::timestamptz and a.at < ${span.end.toISOString()}::timestamptz
    order by a.at desc, a.id desc
    limit ${limit}`,
  );
  const entries = found.map(
    (r): AuditEntry => ({
      at: new Date(r.at as string | Date),
      actor: String(r.actor),
      subject: r.subject as AuditSubject,
      ...(r.scope
        ? {
            budget: {
              scope: r.scope as BudgetScope,
              scopeId: String(r.scope_id),
              period: r.period as BudgetPeriodKind,
            },
          }
        : {}),
      oldValue: r.old_value ?? null,
      newValue: r.new_value ?? null,
      why: (r.why as string | null) ?? null,
    }),
  );
  return { entries, total: Number(found[0]?.total ?? 0) };
}
