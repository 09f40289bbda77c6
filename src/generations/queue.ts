import { randomUUID } from 'node:crypto';
import type { Ledger, Refusal, ReserveResult } from '../budget';
import { systemClock, type Clock } from '../clock';
import { formatCredits } from '../money/credits';
import type { Db } from '../db';
import type { PricedRequest } from '../pricing';
import { GroupCommit, transactionPerGroup } from '../db/group-commit';
import { requestKey } from './request-key';
import * as store from './store';
import {
  GenerationError,
  type AlreadyClaimed,
  type Claim,
  type DuplicateFound,
  type EnqueueRequest,
  type EnqueueResult,
  type Generation,
  type GenerationState,
  type QueuePause,
} from './types';

/** Kling keeps results for 30 days, so an older duplicate has nothing left to offer. */
const KLING_RETENTION_DAYS = 30;

export interface GenerationQueueOptions {
  /** Jobs a person may have waiting (state queued) at once; more is refused with 'user-queue-full'. */
  maxQueuedPerUser: number;
  /** When a refused job ended. */
  now?: Clock;
}

function refusalReason({ budget, remainingMc, neededMc }: Refusal): string {
  return `the ${budget.scope} ${budget.period} budget has ${formatCredits(remainingMc)} credits left and this needs ${formatCredits(neededMc)}`;
}

/** One enqueue call in a group. */
interface Call {
  requests: EnqueueRequest[];
  unlessDuplicate: boolean;
  claim?: Claim;
}

type Answer = EnqueueResult | DuplicateFound | AlreadyClaimed;

/** A call's reservation and the rows it will write. */
interface Reserved {
  result: ReserveResult;
  rows: store.NewGeneration[];
}

/** Why a job that left the queue cannot be cancelled, in words for the person who asked. */
const CANCEL_TOO_LATE: Record<GenerationState, string> = {
  queued: 'it is being taken from the queue right now',
  submitting: 'Kling is already making it',
  submitted: 'Kling is already making it',
  processing: 'Kling is already making it',
  succeeded: 'it is already done',
  failed: 'it already failed (its credits went back)',
  cancelled: 'it is already cancelled',
  refused: 'a budget refused it, so it never queued',
};

/** Turns priced requests into held, queued jobs; the Worker takes them from there. */
export class GenerationQueue {
  private readonly now: Clock;

  constructor(
    private readonly db: Db,
    private readonly ledger: Ledger,
    private readonly options: GenerationQueueOptions,
  ) {
    this.now = options.now ?? systemClock;
  }

  /**
   * One transaction and one COMMIT (one fsync) for a group of enqueue calls of a workspace, which all wait on
   * the same hot budget row anyway; each call keeps its own result.
   */
  private readonly groups = new GroupCommit<Call, Answer>((calls) =>
    transactionPerGroup(this.db, calls, (tx, group) => this.holdAndQueue(tx, group)),
  );

  /**
   * Holds the credits and queues the jobs in ONE transaction: no job without a hold, no hold without a job,
   * and a batch is all-or-nothing. A budget refusal is recorded as `refused` rows (they never held credits)
   * and committed, so the ledger's "exhausted" alert it may have raised is kept too.
   * Concurrent calls for one workspace are group-committed (see groups); each keeps its own result.
   * With a claim, a call whose key was used already queues nothing and is answered with what the first queued.
   */
  enqueue(input: EnqueueRequest | EnqueueRequest[]): Promise<EnqueueResult>;
  enqueue(input: EnqueueRequest | EnqueueRequest[], claim: Claim | undefined): Promise<EnqueueResult | AlreadyClaimed>;
  async enqueue(input: EnqueueRequest | EnqueueRequest[], claim?: Claim): Promise<EnqueueResult | AlreadyClaimed> {
    const requests = Array.isArray(input) ? input : [input];
    if (requests.length === 0) return { ok: true, generations: [], events: [] };
    // Only a call made unlessDuplicate can be answered with a duplicate.
    const call = { requests, unlessDuplicate: false, claim };
    return this.groups.submit(requests[0]!.teamId, call) as Promise<EnqueueResult | AlreadyClaimed>;
  }

  /**
   * As enqueue, unless the same request succeeded within Kling's 30-day retention: then the earlier job is
   * the answer and nothing is held. The lookup runs inside the group's transaction, in the same round trip
   * as the per-person locks, so it adds nothing to the wait of a person running /kling generate.
   */
  enqueueUnlessDuplicate(request: EnqueueRequest): Promise<EnqueueResult | DuplicateFound>;
  enqueueUnlessDuplicate(request: EnqueueRequest, claim: Claim | undefined): Promise<Answer>;
  enqueueUnlessDuplicate(request: EnqueueRequest, claim?: Claim): Promise<Answer> {
    return this.groups.submit(request.teamId, { requests: [request], unlessDuplicate: true, claim });
  }

  /**
   * The people are locked and counted, and the earlier successes looked up, first (one round trip); then the
   * calls are reserved with one statement (ledger reserveEach: a refusal is an answer, not an error, and the
   * ledger undoes its own part of it) and all the rows are written in one insert, so the hot row stays locked
   * for a few round trips however large the group. Every call keeps its own result.
   * Claim keys are looked up in that first round trip too, after the locks: a second call of the same person
   * with a used key, on any replica, waits for the first to commit and then finds its jobs. Two calls with
   * one key in the same group: the later one gets the first one's jobs.
   */
  private async holdAndQueue(tx: Db, group: Call[]): Promise<Answer[]> {
    const calls = group.map((c) => c.requests);
    const teamId = calls[0]![0]!.teamId;
    const duplicateKeys = group.map((c) => (c.unlessDuplicate ? requestKey(c.requests[0]!.quote.request) : undefined));
    const lookedUp = duplicateKeys.filter((k): k is string => k !== undefined);
    const claimKeys = [...new Set(group.flatMap((c) => (c.claim ? [c.claim.key] : [])))];
    // In this order: postgres.js sends them in a row, so the claims are read after the locks are held.
    const [queued, earlier, claimed] = await Promise.all([
      store.lockAndCountQueued(tx, calls.flat()),
      lookedUp.length
        ? store.latestSucceeded(tx, teamId, lookedUp, KLING_RETENTION_DAYS)
        : new Map<string, Generation>(),
      claimKeys.length ? store.claimed(tx, teamId, claimKeys) : new Map<string, Generation[]>(),
    ]);
    const cap = this.options.maxQueuedPerUser;
    const adding = calls.map(countPerPerson);
    const answers: (Answer | Reserved | { sameClaimAs: number })[] = [];
    const firstWithKey = new Map<string, number>();
    // Each person's queued jobs as if every reservation planned so far is granted: a call within the cap on
    // that count is within it whatever those answers are.
    const counted = new Map(queued);
    const fits = (i: number) => [...adding[i]!].every(([person, n]) => (counted.get(person) ?? 0) + n <= cap);
    let planned: number[] = [];
    const reservePlanned = async () => {
      const reserved = await this.reserveEach(
        tx,
        planned.map((i) => group[i]!),
      );
      planned.forEach((i, k) => (answers[i] = reserved[k]!));
      planned = [];
    };
    for (let i = 0; i < calls.length; i++) {
      const claim = group[i]!.claim;
      if (claim) {
        const before = claimed.get(claim.key);
        if (before) {
          answers[i] = { ok: false, claimed: before, events: [] };
          continue;
        }
        const first = firstWithKey.get(claim.key);
        if (first !== undefined) {
          answers[i] = { sameClaimAs: first };
          continue;
        }
        firstWithKey.set(claim.key, i);
        if (claim.first && !(await claim.first(tx))) {
          answers[i] = { ok: false, claimed: [], events: [] };
          continue;
        }
      }
      const key = duplicateKeys[i];
      const duplicate = key === undefined ? undefined : earlier.get(key);
      if (duplicate) {
        answers[i] = { ok: false, duplicate, events: [] };
        continue;
      }
      if (!fits(i)) {
        // Over the cap only if this person's earlier reservations in the group are granted: get those answers.
        await reservePlanned();
        counted.clear();
        for (const [person, n] of queued) counted.set(person, n);
        answers.forEach((a, j) => 'rows' in a && a.result.ok && addTo(counted, adding[j]!));
        if (!fits(i)) {
          answers[i] = { ok: false, refusal: { kind: 'user-queue-full', limit: cap }, events: [] };
          continue;
        }
      }
      planned.push(i);
      addTo(counted, adding[i]!);
    }
    await reservePlanned();
    const rows = answers.flatMap((a) => ('rows' in a ? a.rows : []));
    const written = new Map((rows.length ? await store.insert(tx, rows) : []).map((g) => [g.id, g]));
    const results = answers.map((a): Answer | { sameClaimAs: number } => {
      if (!('rows' in a)) return a;
      const generations = a.rows.map((r) => written.get(r.id)!);
      return a.result.ok
        ? { ok: true, generations, events: a.result.events }
        : { ok: false, refusal: a.result.refusal, events: a.result.events };
    });
    return results.map((a) => {
      if (!('sameClaimAs' in a)) return a;
      // A refusal claims nothing, so the later call hears the same refusal; jobs are the first call's to report.
      const first = results[a.sameClaimAs] as Answer;
      return first.ok ? { ok: false, claimed: first.generations, events: [] } : { ...first, events: [] };
    });
  }

  /** Reserves each call's batch (all-or-nothing) and plans its rows: queued with their holds, or refused with the reason. */
  private async reserveEach(tx: Db, group: Call[]): Promise<Reserved[]> {
    if (!group.length) return [];
    const calls = group.map((c) => c.requests);
    const ids = calls.map((requests) => requests.map(() => `kbb_${randomUUID()}`));
    const results = await this.ledger.reserveEach(
      calls.map((requests, c) =>
        requests.map((r, i) => ({
          teamId: r.teamId,
          channelId: r.channelId,
          userId: r.userId,
          tag: r.tag,
          amountMc: r.quote.priceMc,
          generationId: ids[c]![i],
          memo: r.quote.description,
          alternatives: r.quote.alternatives.map((a) => ({ label: a.label, amountMc: a.priceMc })),
        })),
      ),
      tx,
    );
    return results.map((result, c) => ({
      result,
      rows: plannedRows(calls[c]!, ids[c]!, result, this.now(), group[c]!.claim?.key),
    }));
  }

  /** Only before submission: the job ends `cancelled` and its hold is released, in one transaction. */
  async cancel(id: string, by: string): Promise<Generation> {
    return this.db.transaction(async (tx) => {
      const cancelled = await store.move(tx, id, 'cancelled', { ended: true, errorMessage: `cancelled by ${by}` });
      if (!cancelled) {
        const job = await store.get(tx, id);
        if (!job) throw new GenerationError('not_found', 'there is no such job.');
        throw new GenerationError(
          'not_cancellable',
          `${CANCEL_TOO_LATE[job.state]}; only a video still waiting in the queue can be.`,
        );
      }
      // A queued job's hold is open (nothing settles it before submission). Had someone settled it by hand, the
      // release would answer 'already-…' and leave it as it is: the cancel stands either way.
      if (cancelled.holdId) await this.ledger.release(cancelled.holdId, `cancelled by ${by}`, tx);
      return cancelled;
    });
  }

  get(id: string): Promise<Generation | undefined> {
    return store.get(this.db, id);
  }

  /** A queued job's place in its workspace's queue (1: next), or undefined once it left the queue. */
  placeInQueue(id: string): Promise<number | undefined> {
    return store.placeInQueue(this.db, id);
  }

  /** The team's jobs a typed reference names (short id, full id or a prefix): one, none, or the candidates. */
  find(teamId: string, ref: string): Promise<Generation[]> {
    return store.findByRef(this.db, teamId, ref, 10);
  }

  /** The model, mode and duration mix of these videos and their re-runs: what drove a spike in spending. */
  spendMix(teamId: string, ids: string[]) {
    return store.spendMix(this.db, teamId, ids);
  }

  /** Whether Kling's refusal of the account paused this workspace's queue, since when and why. */
  pause(teamId: string): Promise<QueuePause | undefined> {
    return store.teamPause(this.db, teamId);
  }

  history(teamId: string, userId?: string, limit = 20): Promise<Generation[]> {
    return store.history(this.db, teamId, userId, limit);
  }

  /** The latest success of the same normalized request within Kling's 30-day retention. */
  async findSucceededDuplicate(teamId: string, request: PricedRequest): Promise<Generation | undefined> {
    const key = requestKey(request);
    return (await store.latestSucceeded(this.db, teamId, [key], KLING_RETENTION_DAYS)).get(key);
  }

  async setCard(id: string, channelId: string, ts: string): Promise<void> {
    if (!(await store.setCard(this.db, id, channelId, ts)))
      throw new GenerationError('not_found', `There is no generation ${id}.`);
  }

  /** Claims the job's next Slack post (card or result reply) for `by`; see store.claimPost. */
  claimPost(id: string, by: string, leaseMs: number): ReturnType<typeof store.claimPost> {
    return store.claimPost(this.db, id, by, leaseMs);
  }

  setResultPosted(id: string): Promise<void> {
    return store.setResultPosted(this.db, id);
  }

  setCardState(id: string, state: GenerationState, by: string, place?: number): Promise<void> {
    return store.setCardState(this.db, id, state, by, place);
  }

  /** The first `limit` queued jobs of a workspace with a card: their place in the queue and the place shown. */
  queuedCards(teamId: string, limit: number) {
    return store.queuedCards(this.db, teamId, limit);
  }

  /** Jobs whose card needs posting, updating or its result reply, that no replica is at work on. */
  cardsDue(graceMs: number, limit: number): Promise<string[]> {
    return store.cardsDue(this.db, graceMs, limit);
  }
}

/**
 * A call's rows: queued with their holds, or refused with the reason (they never held credits). The first
 * queued job carries the claim key; a refusal claims nothing, so the same button can be tried again.
 */
function plannedRows(
  requests: EnqueueRequest[],
  ids: string[],
  result: ReserveResult,
  now: Date,
  claimKey?: string,
): store.NewGeneration[] {
  const batchId = requests.length > 1 ? `batch_${randomUUID()}` : undefined;
  const holdOf = new Map(result.ok ? result.holds.map((h, i) => [h.generationId ?? ids[i]!, h.id]) : []);
  if (result.ok && ids.some((id) => !holdOf.has(id)))
    throw new Error('ledger.reserve returned fewer holds than requests');
  return requests.map((r, i): store.NewGeneration => {
    const id = ids[i]!;
    return {
      id,
      teamId: r.teamId,
      channelId: r.channelId,
      userId: r.userId,
      tag: r.tag,
      endpoint: r.quote.request.endpoint,
      request: r.quote.request.body,
      source: r.quote.request.source,
      parentId: r.parent?.id,
      followUp: r.parent?.followUp,
      requestKey: requestKey(r.quote.request),
      description: r.quote.description,
      estimateMc: r.quote.priceMc,
      batchId,
      claimKey: result.ok && i === 0 ? claimKey : undefined,
      ...(result.ok
        ? { state: 'queued' as const, holdId: holdOf.get(id), notBefore: r.notBefore, nextAttemptAt: r.notBefore }
        : { state: 'refused' as const, errorMessage: refusalReason(result.refusal), endedAt: now }),
    };
  });
}

function addTo(counts: Map<string, number>, adding: Map<string, number>): void {
  for (const [person, n] of adding) counts.set(person, (counts.get(person) ?? 0) + n);
}

/** How many jobs the requests add per person ("team/user"). */
function countPerPerson(requests: EnqueueRequest[]): Map<string, number> {
  const adding = new Map<string, number>();
  for (const r of requests) adding.set(`${r.teamId}/${r.userId}`, (adding.get(`${r.teamId}/${r.userId}`) ?? 0) + 1);
  return adding;
}
