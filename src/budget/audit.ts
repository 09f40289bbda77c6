import { rows, sql, type Db } from '../db';
import type { Millicredits } from '../money/credits';
import type { BudgetPeriodKind, BudgetScope } from './types';

/**
 * The changes that moved money or rules, as the ledger records them: a budget's limit or hardness changed while
 * its period was open ('limit' entries: who, when, from what to what) and the room an admin added to a period
 * ('adjust' entries, approvals among them: who, when, how much, why). Newest first.
 */
export interface AuditEntry {
  at: Date;
  actor: string;
  budget: { scope: BudgetScope; scopeId: string; period: BudgetPeriodKind };
  change:
    /** from/to are null only if the entry's text is not the ledger's own (then `text` says what it says). */
    | {
        kind: 'limit';
        fromMc: Millicredits | null;
        toMc: Millicredits | null;
        hardness: 'now hard' | 'now soft' | null;
        text: string | null;
      }
    | { kind: 'adjust'; amountMc: Millicredits; why: string | null };
}

const LIMIT_MEMO = /^limit (\d+) → (\d+) mc(?:, (now hard|now soft))?$/;

/** At most `limit` entries of the team in [start, end), and how many there are in all. */
export async function auditTrail(
  db: Db, teamId: string, span: { start: Date; end: Date }, limit: number,
): Promise<{ entries: AuditEntry[]; total: number }> {
  const found = await rows<Record<string, unknown>>(db, sql`
    select e.created_at, e.actor, e.kind::text as kind, e.amount_mc, e.memo,
           b.scope::text as scope, b.scope_id, b.period::text as period,
           count(*) over () as total
    from ledger_entries e join budgets b on b.id = e.budget_id
    where e.team_id = ${teamId} and e.kind in ('limit', 'adjust')
      and e.created_at >= ${span.start.toISOString()}::timestamptz
      and e.created_at < ${span.end.toISOString()}::timestamptz
    order by e.created_at desc, e.id desc
    limit ${limit}`);
  const entries = found.map((r): AuditEntry => {
    const memo = (r.memo as string | null) ?? null;
    // A limit entry's memo is written by the ledger itself: "limit <from> → <to> mc[, now hard|soft]".
    const limitChange = r.kind === 'limit' ? LIMIT_MEMO.exec(memo ?? '') : null;
    return {
      at: new Date(r.created_at as string | Date),
      actor: String(r.actor),
      budget: {
        scope: r.scope as AuditEntry['budget']['scope'],
        scopeId: String(r.scope_id),
        period: r.period as BudgetPeriodKind,
      },
      change: r.kind === 'limit'
        ? {
            kind: 'limit',
            fromMc: limitChange ? Number(limitChange[1]) : null,
            toMc: limitChange ? Number(limitChange[2]) : null,
            hardness: (limitChange?.[3] as 'now hard' | 'now soft' | undefined) ?? null,
            text: memo,
          }
        : { kind: 'adjust', amountMc: Number(r.amount_mc), why: memo },
    };
  });
  return { entries, total: Number(found[0]?.total ?? 0) };
}
