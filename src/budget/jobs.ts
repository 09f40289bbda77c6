import type { SQL } from 'drizzle-orm';
import { rows, sql, type Db } from '../db/index';
import { mc, type Millicredits } from '../money/credits';

/**
 * The export's reads of the ledger. A job is a hold of the ledger (one per generation), in the period its hold
 * was taken, so the file's sums are the ledger's; its generation gives the model, the state and Kling's task id.
 * Requests refused by a budget never held credits and are not in it.
 */

export interface Audience {
  teamId: string;
  /** Only this person's jobs; all of the workspace's when absent. */
  userId?: string;
}

export interface Span {
  start: Date;
  end: Date;
}

export interface JobRow {
  holdId: string;
  /** The hold's created_at, exactly as Postgres has it (microseconds), to page after it. */
  cursorAt: string;
  jobId: string;
  createdAt: Date;
  settledAt: Date | null;
  userId: string;
  channelId: string | null;
  /** The project tag the job was asked with (--tag). */
  tag: string | null;
  endpoint: string | null;
  model: string | null;
  mode: string | null;
  duration: string | null;
  audio: boolean;
  description: string | null;
  estimateMc: Millicredits;
  /** What the ledger charges for the job now: the actual cost once committed, the hold while open, 0 once released. */
  chargedMc: Millicredits;
  state: string;
  klingTaskId: string | null;
}

export type Grouping = 'person' | 'channel' | 'tag' | 'model';

export interface GroupRow {
  key: string | null;
  jobs: number;
  estimateMc: Millicredits;
  chargedMc: Millicredits;
}

const ts = (d: Date) => sql`${d.toISOString()}::timestamptz`;
const n = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));
const amount = (v: unknown): Millicredits => mc(n(v));

const CHARGED = sql`case h.status when 'committed' then h.actual_mc when 'open' then h.amount_mc else 0 end`;
const MODEL = sql`coalesce(g.request->>'model_name', g.endpoint)`;
const KEYS: Record<Grouping, SQL> = {
  person: sql`h.user_id`,
  channel: sql`h.channel_id`,
  tag: sql`h.tag`,
  model: MODEL,
};

function scope(audience: Audience, span: Span): SQL {
  return sql`h.team_id = ${audience.teamId} and h.created_at >= ${ts(span.start)} and h.created_at < ${ts(span.end)}
    ${audience.userId === undefined ? sql`` : sql`and h.user_id = ${audience.userId}`}`;
}

export async function workspaceTimezone(db: Db, teamId: string): Promise<string | undefined> {
  const [row] = await rows<{ timezone: string }>(db, sql`select timezone from workspaces where team_id = ${teamId}`);
  return row?.timezone;
}

/**
 * One page of jobs in hold order, after the given one: an index range per page, so a period of any size is
 * read a page at a time, on Postgres and PGlite alike, with no transaction held open. The created_at bound
 * starts each page's index range at the previous page's end.
 */
export async function jobPage(
  db: Db,
  audience: Audience,
  span: Span,
  after: { at: string; holdId: string } | null,
  limit: number,
): Promise<JobRow[]> {
  const afterLast = after
    ? sql`and h.created_at >= ${after.at}::timestamptz
          and (h.created_at, h.id) > (${after.at}::timestamptz, ${after.holdId}::uuid)`
    : sql``;
  const result = await rows<Record<string, unknown>>(
    db,
    sql`
    select h.id::text as hold_id, h.created_at::text as cursor_at, h.created_at, h.settled_at,
           h.user_id, h.channel_id, h.tag,
           h.amount_mc, ${CHARGED} as charged_mc, h.status::text as hold_status,
           g.id as job_id, g.endpoint, ${MODEL} as model, g.request->>'mode' as mode,
           g.request->>'duration' as duration,
           coalesce(g.request->>'sound', 'off') = 'on' as audio, g.description, g.state::text as state, g.kling_task_id
    from holds h
    left join generations g on g.id = h.generation_id
    where ${scope(audience, span)}
      ${afterLast}
    order by h.created_at, h.id
    limit ${limit}`,
  );
  return result.map((r) => ({
    holdId: String(r.hold_id),
    cursorAt: String(r.cursor_at),
    jobId: (r.job_id as string | null) ?? String(r.hold_id),
    createdAt: new Date(r.created_at as string | Date),
    settledAt: r.settled_at ? new Date(r.settled_at as string | Date) : null,
    userId: String(r.user_id),
    channelId: (r.channel_id as string | null) ?? null,
    tag: (r.tag as string | null) ?? null,
    endpoint: (r.endpoint as string | null) ?? null,
    model: (r.model as string | null) ?? null,
    mode: (r.mode as string | null) ?? null,
    duration: (r.duration as string | null) ?? null,
    audio: Boolean(r.audio),
    description: (r.description as string | null) ?? null,
    estimateMc: amount(r.amount_mc),
    chargedMc: amount(r.charged_mc),
    // A hold with no generation (written by the ledger alone) shows the hold's own status.
    state: (r.state as string | null) ?? String(r.hold_status),
    klingTaskId: (r.kling_task_id as string | null) ?? null,
  }));
}

/** The period's jobs summed per person, channel, tag or model: one row per value, which stays small. */
export async function groups(db: Db, audience: Audience, span: Span, by: Grouping): Promise<GroupRow[]> {
  const result = await rows<Record<string, unknown>>(
    db,
    sql`
    select ${KEYS[by]} as key, count(*) as jobs, sum(h.amount_mc) as estimate_mc, sum(${CHARGED}) as charged_mc
    from holds h
    left join generations g on g.id = h.generation_id
    where ${scope(audience, span)}
    group by 1
    order by 1 nulls first`,
  );
  return result.map((r) => ({
    key: (r.key as string | null) ?? null,
    jobs: n(r.jobs),
    estimateMc: amount(r.estimate_mc),
    chargedMc: amount(r.charged_mc),
  }));
}
