import { and, desc, eq, gt, inArray, isNotNull, isNull, like, or, sql, type SQL } from 'drizzle-orm';
import type { PgUpdateSetSource } from 'drizzle-orm/pg-core';
import { insertRows, rows, type Db } from '../db';
import { generations, workspaces } from '../db/schema';
import { mc, type Millicredits } from '../money/credits';
import type { KlingEndpoint, PricedRequest } from '../pricing';
import { IN_FLIGHT, statesBefore, type GenerationState } from './states';
import type { FollowUpKind, Generation, GenerationResult, QueuePause } from './types';

/** All of the queue's SQL. Every function takes the Db (or a transaction, which is one too). */

type Row = typeof generations.$inferSelect;
export type NewGeneration = typeof generations.$inferInsert;

/**
 * Advisory lock classes (first key of the two-int form), so our locks never collide with another domain's.
 * 4_702_001 is the claim's (queue_claim_submissions).
 */
const USER_ENQUEUE_LOCK = 4_702_002;

const inFlight = inArray(generations.state, [...IN_FLIGHT]);
/** The same states as a literal list for raw SQL (a literal, so Postgres can match the partial indexes). */
const IN_FLIGHT_LIST = sql.raw(IN_FLIGHT.map((s) => `'${s}'`).join(', '));
const after = (ms: number): SQL => sql`now() + ${ms} * interval '1 millisecond'`;

function toGeneration(row: Row): Generation {
  const opt = <T>(value: T | null): T | undefined => value ?? undefined;
  return {
    id: row.id,
    shortId: row.shortId ?? row.id, // always set by the insert trigger
    teamId: row.teamId,
    channelId: row.channelId,
    userId: row.userId,
    tag: opt(row.tag),
    endpoint: row.endpoint as KlingEndpoint,
    request: row.request as Record<string, unknown>,
    source: opt(row.source as PricedRequest['source'] | null),
    description: opt(row.description),
    estimateMc: row.estimateMc,
    actualMc: opt(row.actualMc),
    holdId: opt(row.holdId),
    state: row.state,
    klingTaskId: opt(row.klingTaskId),
    attempts: row.attempts,
    cardChannelId: opt(row.cardChannelId),
    cardTs: opt(row.cardTs),
    cardState: opt(row.cardState),
    resultPostedAt: opt(row.resultPostedAt),
    batchId: opt(row.batchId),
    parentId: opt(row.parentId),
    followUp: opt(row.followUp as FollowUpKind | null),
    result: opt(row.result as GenerationResult | null),
    errorCode: opt(row.errorCode),
    errorMessage: opt(row.errorMessage),
    notBefore: opt(row.notBefore),
    createdAt: row.createdAt,
    submittedAt: opt(row.submittedAt),
    endedAt: opt(row.endedAt),
  };
}

// ---- queue side ----

/**
 * Serializes enqueues of the same people, so two at once cannot both slip under the per-user cap, and counts
 * each one's queued jobs. The locks are taken in hash order, so two enqueues can never deadlock on them.
 * Keys are "team/user".
 */
export async function lockAndCountQueued(
  tx: Db,
  people: { teamId: string; userId: string }[],
): Promise<Map<string, number>> {
  const byKey = new Map(people.map((p) => [`${p.teamId}/${p.userId}`, { team: p.teamId, user: p.userId }]));
  const pairs = JSON.stringify([...byKey.values()]);
  // Two statements, so the count's snapshot is taken after the locks are held; sent together (postgres.js
  // pipelines them on the transaction's connection), so they cost one round trip.
  const [, counted] = await Promise.all([
    tx.execute(sql`
      select pg_advisory_xact_lock(${USER_ENQUEUE_LOCK}, h)
      from (select distinct hashtext(team || '/' || "user") as h from jsonb_to_recordset(${pairs}::jsonb) as p(team text, "user" text) order by 1) as locks`),
    rows<{ key: string; n: number }>(
      tx,
      sql`
      select team || '/' || "user" as key,
        (select count(*)::int from generations g where g.team_id = p.team and g.user_id = p."user" and g.state = 'queued') as n
      from jsonb_to_recordset(${pairs}::jsonb) as p(team text, "user" text)`,
    ),
  ]);
  return new Map(counted.map((c) => [c.key, c.n]));
}

/**
 * The jobs each claim key already queued (the keyed job and the rest of its batch), in one query. Run after
 * lockAndCountQueued, in the same transaction, so it sees what a concurrent call of the same person committed.
 */
export async function claimed(db: Db, teamId: string, keys: string[]): Promise<Map<string, Generation[]>> {
  const keyed = and(eq(generations.teamId, teamId), inArray(generations.claimKey, keys));
  const batches = db
    .select({ batchId: generations.batchId })
    .from(generations)
    .where(and(keyed, isNotNull(generations.batchId)));
  const found = await db
    .select()
    .from(generations)
    .where(
      and(
        eq(generations.teamId, teamId),
        or(inArray(generations.claimKey, keys), inArray(generations.batchId, batches)),
      ),
    )
    .orderBy(generations.seq);
  const byKey = new Map<string, Generation[]>();
  for (const first of found.filter((row) => row.claimKey !== null)) {
    const ofFirst = (row: Row) => row.id === first.id || (first.batchId !== null && row.batchId === first.batchId);
    const jobs = found.filter(ofFirst);
    byKey.set(first.claimKey!, jobs.map(toGeneration));
  }
  return byKey;
}

export async function insert(db: Db, values: NewGeneration[]): Promise<Generation[]> {
  const inserted = await insertRows(db, generations, values);
  const byId = new Map(inserted.map((row) => [row.id, toGeneration(row)]));
  return values.map((v) => byId.get(v.id)!);
}

export async function get(db: Db, id: string): Promise<Generation | undefined> {
  const [row] = await db.select().from(generations).where(eq(generations.id, id));
  return row && toGeneration(row);
}

/**
 * The team's jobs a person's reference names: its short id ("#2FC2", "2fc2"), its full id, or a prefix of
 * either. An exact short or full id wins over prefixes; more than one row means the reference is ambiguous.
 */
export async function findByRef(db: Db, teamId: string, ref: string, limit: number): Promise<Generation[]> {
  const key = ref.trim().replace(/^#/, '');
  if (!key) return [];
  const upper = key.toUpperCase();
  const exact = await db
    .select()
    .from(generations)
    .where(and(eq(generations.teamId, teamId), or(eq(generations.shortId, upper), eq(generations.id, key))));
  if (exact.length) return exact.map(toGeneration);
  const prefix = `${key.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  const found = await db
    .select()
    .from(generations)
    .where(
      and(eq(generations.teamId, teamId), or(like(generations.id, prefix), like(generations.id, `kbb\\_${prefix}`))),
    )
    .orderBy(desc(generations.seq))
    .limit(limit);
  return found.map(toGeneration);
}

/** A queued job's place among its workspace's queued jobs, by arrival (1: next); undefined once it left. */
export async function placeInQueue(db: Db, id: string): Promise<number | undefined> {
  const [row] = await rows<{ place: number }>(
    db,
    sql`
    select (select count(*)::int from generations g
            where g.team_id = me.team_id and g.state = 'queued' and g.seq < me.seq) + 1 as place
    from generations me where me.id = ${id} and me.state = 'queued'`,
  );
  return row?.place;
}

export async function history(
  db: Db,
  teamId: string,
  userId: string | undefined,
  limit: number,
): Promise<Generation[]> {
  const found = await db
    .select()
    .from(generations)
    .where(and(eq(generations.teamId, teamId), userId === undefined ? undefined : eq(generations.userId, userId)))
    .orderBy(desc(generations.seq))
    .limit(limit);
  return found.map(toGeneration);
}

/** The latest success of each request key (a team's, ended within `sinceDays`), in one query. */
export async function latestSucceeded(
  db: Db,
  teamId: string,
  keys: string[],
  sinceDays: number,
): Promise<Map<string, Generation>> {
  const found = await db
    .selectDistinctOn([generations.requestKey])
    .from(generations)
    .where(
      and(
        eq(generations.teamId, teamId),
        inArray(generations.requestKey, keys),
        eq(generations.state, 'succeeded'),
        gt(generations.endedAt, sql`now() - ${sinceDays} * interval '1 day'`),
      ),
    )
    .orderBy(generations.requestKey, desc(generations.endedAt));
  return new Map(found.map((row) => [row.requestKey, toGeneration(row)]));
}

/** Records the posted card and ends the poster's claim. */
export async function setCard(db: Db, id: string, channelId: string, ts: string): Promise<boolean> {
  const updated = await db
    .update(generations)
    .set({ cardChannelId: channelId, cardTs: ts, cardClaimedBy: null, cardClaimedUntil: null, updatedAt: sql`now()` })
    .where(eq(generations.id, id))
    .returning({ id: generations.id });
  return updated.length > 0;
}

// ---- Slack posts: the card and the result reply ----

/**
 * Claims the job's next Slack post (its card, or its result reply) for `by` until the lease runs out, when
 * there is one to make and nobody else holds the claim. `uncertain` when an earlier claim was never
 * released: that post may have landed, so the claimant looks for it before posting again.
 */
export async function claimPost(
  db: Db,
  id: string,
  by: string,
  leaseMs: number,
): Promise<{ job: Generation; uncertain: boolean } | undefined> {
  const [row] = await rows<{ id: string; uncertain: boolean }>(
    db,
    sql`
    with old as (select id, card_claimed_until from generations where id = ${id} for update)
    update generations g set card_claimed_by = ${by}, card_claimed_until = ${after(leaseMs)}
    from old
    where g.id = old.id
      and (g.card_ts is null or (g.state = 'succeeded' and g.result_posted_at is null))
      and (g.card_claimed_until is null or g.card_claimed_until < now() or g.card_claimed_by = ${by})
    returning g.id, old.card_claimed_until is not null as uncertain`,
  );
  if (!row) return undefined;
  const job = await get(db, id);
  return job && { job, uncertain: row.uncertain };
}

/** The result reply is in the thread: recorded once, and the poster's claim ends. */
export async function setResultPosted(db: Db, id: string): Promise<void> {
  await db
    .update(generations)
    .set({ resultPostedAt: sql`now()`, cardClaimedBy: null, cardClaimedUntil: null })
    .where(and(eq(generations.id, id), isNull(generations.resultPostedAt)));
}

/** The card shows `state` (and a queued job's `place`) now; a claim `by` held is released (its post is done). */
export async function setCardState(
  db: Db,
  id: string,
  state: GenerationState,
  by: string,
  place?: number,
): Promise<void> {
  await db.execute(sql`
    update generations set card_state = ${state}::generation_state, card_place = ${place ?? null}::int,
      card_claimed_by = case when card_claimed_by = ${by} then null else card_claimed_by end,
      card_claimed_until = case when card_claimed_by = ${by} then null else card_claimed_until end
    where id = ${id}`);
}

/**
 * The first `limit` queued jobs of a workspace that have a card, with their place in its queue (as placeInQueue
 * counts it) and the place their card shows.
 */
export async function queuedCards(
  db: Db,
  teamId: string,
  limit: number,
): Promise<{ id: string; place: number; shown: number | null }[]> {
  return rows(
    db,
    sql`
    select id, place, shown from (
      select id, card_ts, card_place as shown, (row_number() over (order by seq))::int as place
      from generations where team_id = ${teamId} and state = 'queued' order by seq limit ${limit}
    ) first where card_ts is not null`,
  );
}

/**
 * Jobs whose card is missing, behind its state, or without its result reply, for longer than `graceMs`
 * (the replica at work on it had its chance) and that nobody holds a live claim on: any replica takes them.
 */
export async function cardsDue(db: Db, graceMs: number, limit: number): Promise<string[]> {
  const found = await rows<{ id: string }>(
    db,
    sql`
    select id from generations
    where state <> 'refused' and (card_ts is null
      or card_state is distinct from state or (state = 'succeeded' and result_posted_at is null))
      and coalesce(ended_at, created_at) < now() - ${graceMs} * interval '1 millisecond'
      and (card_claimed_until is null or card_claimed_until < now())
    order by seq limit ${limit}`,
  );
  return found.map((r) => r.id);
}

// ---- state changes ----

export type Patch = Partial<
  Pick<NewGeneration, 'klingTaskId' | 'result' | 'errorCode' | 'errorMessage' | 'actualMc' | 'attempts' | 'leasedBy'>
> & {
  /** When a worker should next look at it, in ms from now (database clock). */
  nextInMs?: number;
  ended?: boolean;
};

/** A committed step ends the worker's lease (leased_by = null) unless the patch keeps it. */
function patchValues(patch: Patch): PgUpdateSetSource<typeof generations> {
  const { nextInMs, ended, ...columns } = patch;
  return {
    leasedBy: null,
    ...columns,
    ...(nextInMs !== undefined && { nextAttemptAt: after(nextInMs) }),
    ...(ended && { endedAt: sql`now()` }),
    updatedAt: sql`now()`,
  };
}

/**
 * Moves a job to `to` if it is in a state that may move there (src/generations/states.ts); undefined when it
 * is not, e.g. another worker settled it first. This guard is what makes each transition happen once.
 */
export async function move(
  db: Db,
  id: string,
  to: GenerationState,
  patch: Patch = {},
): Promise<Generation | undefined> {
  const [row] = await db
    .update(generations)
    .set({ ...patchValues(patch), state: to })
    .where(and(eq(generations.id, id), inArray(generations.state, statesBefore(to))))
    .returning();
  return row && toGeneration(row);
}

/** Updates a job that keeps its state (next poll, a retry's reason); only while it is still in `state`. */
export async function touch(db: Db, id: string, state: GenerationState, patch: Patch): Promise<Generation | undefined> {
  const [row] = await db
    .update(generations)
    .set(patchValues(patch))
    .where(and(eq(generations.id, id), eq(generations.state, state)))
    .returning();
  return row && toGeneration(row);
}

/** Marks a job stuck once (true the first time, across every replica). */
export async function markStuck(db: Db, id: string): Promise<boolean> {
  const updated = await db
    .update(generations)
    .set({ stuckAt: sql`now()` })
    .where(and(eq(generations.id, id), isNull(generations.stuckAt), inFlight))
    .returning({ id: generations.id });
  return updated.length > 0;
}

// ---- worker side: claims ----

/** Kling's concurrency limits as the claim applies them. */
export interface Caps {
  /** Tasks in flight per workspace (KLING_MAX_CONCURRENCY). */
  perTeam: number;
  /** Tasks in flight for the whole Kling account, all workspaces together (KLING_ACCOUNT_CONCURRENCY). */
  account: number;
}

/**
 * Claims up to the free Kling slots (and at most `limit`) and marks them `submitting` (src/db/sql/20_queue.sql).
 *
 * Kling limits the account, so slots are counted in the database (submitting + submitted + processing rows)
 * under one account-wide lock: replicas together never exceed `caps.account`, nor `caps.perTeam` in a
 * workspace. A workspace below its fair share of the account always goes first; within a workspace, round-robin
 * between its people. Returned in pick order.
 */
export async function claimSubmissions(
  db: Db,
  caps: Caps,
  limit: number,
  workerId: string,
  leaseMs: number,
): Promise<Generation[]> {
  if (limit <= 0) return [];
  const picked = await rows<{ id: string }>(
    db,
    sql`
    select generation_id as id from queue_claim_submissions(${caps.perTeam}, ${caps.account}, ${limit}, ${workerId}, ${leaseMs})`,
  );
  if (picked.length === 0) return [];
  // submitted_at carries the pick order (a microsecond apart).
  const claimed = await db
    .select()
    .from(generations)
    .where(
      inArray(
        generations.id,
        picked.map((p) => p.id),
      ),
    )
    .orderBy(generations.submittedAt);
  return claimed.map(toGeneration);
}

/**
 * Claims in-flight jobs that are due: to poll, to retry, or whose worker died (its lease ran out); and jobs a
 * callback brought news of, once `gapMs` has passed since Kling was last asked about them and no worker is
 * acting on them. Claiming pushes next_attempt_at forward by the lease, so no other worker takes the job
 * while this one acts.
 */
export async function claimDue(
  db: Db,
  workerId: string,
  leaseMs: number,
  gapMs: number,
  limit: number,
): Promise<Generation[]> {
  if (limit <= 0) return [];
  const due = db
    .select({ id: generations.id })
    .from(generations)
    .where(
      and(
        inFlight,
        sql`(${generations.nextAttemptAt} <= now() or (${calledBackDue(gapMs)} and ${generations.leasedBy} is null))`,
      ),
    )
    .orderBy(generations.nextAttemptAt)
    .limit(limit)
    .for('update', { skipLocked: true });
  const claimed = await db
    .update(generations)
    .set({ nextAttemptAt: after(leaseMs), askedAt: sql`now()`, leasedBy: workerId, updatedAt: sql`now()` })
    .where(inArray(generations.id, due))
    .returning();
  return claimed.map(toGeneration);
}

/** News from a callback that Kling has not been asked about since, and not within the last `gapMs`. */
function calledBackDue(gapMs: number): SQL {
  const asked = sql`coalesce(${generations.askedAt}, '-infinity')`;
  return sql`${generations.calledBackAt} > ${asked} and ${asked} <= now() - ${gapMs} * interval '1 millisecond'`;
}

/**
 * Records callbacks' news of in-flight jobs; a callback for a job not in flight, or that says only what the
 * job already knows (`submitted`, or `processing` of a processing job), records nothing. True when one of
 * them may be queried now (see claimDue).
 */
export async function markCalledBack(
  db: Db,
  callbacks: { id: string; status?: string }[],
  gapMs: number,
): Promise<boolean> {
  if (callbacks.length === 0) return false;
  const found = await rows<{ due: boolean }>(
    db,
    sql`
    update generations g set called_back_at = now()
    from jsonb_to_recordset(${JSON.stringify(callbacks)}::jsonb) as c(id text, status text)
    where g.id = c.id and g.state in (${IN_FLIGHT_LIST})
      and (c.status is null or c.status in ('succeed', 'failed') or (c.status = 'processing' and g.state <> 'processing'))
    returning coalesce(g.asked_at, '-infinity') <= now() - ${gapMs} * interval '1 millisecond' and g.leased_by is null as due`,
  );
  return found.some((r) => r.due);
}

/** Keeps the lease of jobs this worker is still acting on (a long Kling call), so nobody takes them over. */
export async function renewLeases(db: Db, workerId: string, ids: string[], leaseMs: number): Promise<void> {
  if (ids.length === 0) return;
  await db
    .update(generations)
    .set({ nextAttemptAt: after(leaseMs) })
    .where(and(inArray(generations.id, ids), eq(generations.leasedBy, workerId), inFlight));
}

/** After a restart under the same worker id: its previous life is gone, so its jobs are due now. */
export async function reclaim(db: Db, workerId: string): Promise<number> {
  const found = await db
    .update(generations)
    .set({ nextAttemptAt: sql`now()` })
    .where(and(eq(generations.leasedBy, workerId), inFlight, gt(generations.nextAttemptAt, sql`now()`)))
    .returning({ id: generations.id });
  return found.length;
}

/** Ended jobs among those of these holds (the open ones: settlement interrupted by an older version or by hand). */
export async function endedWithHolds(db: Db, holdIds: string[]): Promise<Generation[]> {
  if (!holdIds.length) return [];
  const found = await db
    .select()
    .from(generations)
    .where(and(inArray(generations.holdId, holdIds), inArray(generations.state, ['succeeded', 'failed', 'cancelled'])));
  return found.map(toGeneration);
}

// ---- workspace queue pause (workspaces.queue_paused_at) ----

/** True when this call paused it (so the alert goes out once). */
export async function pauseTeam(db: Db, teamId: string, reason: string): Promise<boolean> {
  const updated = await db
    .update(workspaces)
    .set({ queuePausedAt: sql`now()`, queuePauseReason: reason })
    .where(and(eq(workspaces.teamId, teamId), isNull(workspaces.queuePausedAt)))
    .returning({ teamId: workspaces.teamId });
  return updated.length > 0;
}

export async function resumeTeam(db: Db, teamId: string): Promise<boolean> {
  const updated = await db
    .update(workspaces)
    .set({ queuePausedAt: null, queuePauseReason: null })
    .where(and(eq(workspaces.teamId, teamId), sql`${workspaces.queuePausedAt} is not null`))
    .returning({ teamId: workspaces.teamId });
  return updated.length > 0;
}

/**
 * What these videos were: the model, mode and duration mix with the credits each spent (actual, else the
 * estimate; failed and cancelled videos cost nothing), and how many repeated a prompt run among them.
 */
export interface SpendMix {
  mix: { model: string; mode: string | null; durationS: number | null; videos: number; spentMc: Millicredits }[];
  reruns: number;
}

export async function spendMix(db: Db, teamId: string, ids: string[]): Promise<SpendMix> {
  const [row] = await rows<{ mix: unknown; reruns: number }>(
    db,
    sql`
    with today as (
      select request, coalesce(actual_mc, estimate_mc) as spent from generations
      where id = any(${`{${ids.join(',')}}`}::text[]) and team_id = ${teamId}
        and state not in ('failed', 'cancelled', 'refused')
    ), mix as (
      select request->>'model_name' as model, request->>'mode' as mode, (request->>'duration')::int as "durationS",
             count(*)::int as videos, sum(spent)::bigint as "spentMc"
      from today group by 1, 2, 3
    )
    select (select coalesce(jsonb_agg(to_jsonb(mix) order by "spentMc" desc, videos desc), '[]') from mix) as mix,
           (select count(request->>'prompt') - count(distinct request->>'prompt') from today)::int as reruns`,
  );
  const mix = (typeof row!.mix === 'string' ? JSON.parse(row!.mix) : row!.mix) as SpendMix['mix'];
  return { mix: mix.map((m) => ({ ...m, spentMc: mc(m.spentMc) })), reruns: Number(row!.reruns) };
}

/** The workspace's queue pause (Kling refused the account), or undefined while the queue runs. */
export async function teamPause(db: Db, teamId: string): Promise<QueuePause | undefined> {
  const [row] = await db
    .select({ since: workspaces.queuePausedAt, reason: workspaces.queuePauseReason })
    .from(workspaces)
    .where(eq(workspaces.teamId, teamId));
  return row?.since ? { since: row.since, reason: row.reason ?? '' } : undefined;
}
