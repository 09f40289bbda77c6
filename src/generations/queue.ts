import { randomUUID } from 'node:crypto';
import type { Ledger, Refusal } from '../budget';
import { formatCredits } from '../money/credits';
import type { Db } from '../db';
import type { PricedRequest } from '../pricing';
import { requestKey } from './request-key';
import * as store from './store';
import { GenerationError, type EnqueueRequest, type EnqueueResult, type Generation } from './types';

/** Kling keeps results for 30 days (reference §3), so an older duplicate has nothing left to offer. */
const KLING_RETENTION_DAYS = 30;

export interface GenerationQueueOptions {
  /** Jobs a person may have waiting (state queued) at once; more is refused with 'user-queue-full'. */
  maxQueuedPerUser: number;
}

function refusalReason({ budget, remainingMc, neededMc }: Refusal): string {
  return `the ${budget.scope} ${budget.period} budget has ${formatCredits(remainingMc)} credits left and this needs ${formatCredits(neededMc)}`;
}

/** Turns priced requests into held, queued jobs; the Worker takes them from there. */
export class GenerationQueue {
  constructor(
    private readonly db: Db,
    private readonly ledger: Ledger,
    private readonly options: GenerationQueueOptions,
  ) {}

  /**
   * Holds the credits and queues the jobs in ONE transaction: no job without a hold, no hold without a job,
   * and a batch is all-or-nothing. A budget refusal is recorded as `refused` rows (they never held credits)
   * and committed, so the ledger's "exhausted" alert it may have raised is kept too.
   */
  async enqueue(input: EnqueueRequest | EnqueueRequest[]): Promise<EnqueueResult> {
    const requests = Array.isArray(input) ? input : [input];
    if (requests.length === 0) return { ok: true, generations: [], events: [] };
    const batchId = requests.length > 1 ? `batch_${randomUUID()}` : undefined;
    const ids = requests.map(() => `kbb_${randomUUID()}`);

    return this.db.transaction(async (tx): Promise<EnqueueResult> => {
      const full = await this.overUserCap(tx, requests);
      if (full) return { ok: false, refusal: { kind: 'user-queue-full', limit: this.options.maxQueuedPerUser }, events: [] };

      const reserved = await this.ledger.reserve(
        requests.map((r, i) => ({
          teamId: r.teamId,
          channelId: r.channelId,
          userId: r.userId,
          amountMc: r.quote.credits,
          generationId: ids[i],
          memo: r.quote.description,
          alternatives: r.quote.alternatives.map((a) => ({ label: a.label, amountMc: a.credits })),
        })),
        tx,
      );
      const holdOf = new Map(reserved.ok ? reserved.holds.map((h, i) => [h.generationId ?? ids[i]!, h.id]) : []);
      const rows = requests.map((r, i) => {
        const id = ids[i]!;
        return {
          id,
          teamId: r.teamId,
          channelId: r.channelId,
          userId: r.userId,
          endpoint: r.quote.request.endpoint,
          request: r.quote.request.body,
          requestKey: requestKey(r.quote.request),
          description: r.quote.description,
          estimateMc: r.quote.credits,
          batchId,
          ...(reserved.ok
            ? { state: 'queued' as const, holdId: holdOf.get(id), notBefore: r.notBefore, nextAttemptAt: r.notBefore }
            : { state: 'refused' as const, errorMessage: refusalReason(reserved.refusal), endedAt: new Date() }),
        };
      });
      if (reserved.ok && ids.some((id) => !holdOf.has(id))) throw new Error('ledger.reserve returned fewer holds than requests');
      const generations = await store.insert(tx, rows);
      return reserved.ok
        ? { ok: true, generations, events: reserved.events }
        : { ok: false, refusal: reserved.refusal, events: reserved.events };
    });
  }

  /** Only before submission: the job ends `cancelled` and its hold is released, in one transaction. */
  async cancel(id: string, by: string): Promise<Generation> {
    return this.db.transaction(async (tx) => {
      const cancelled = await store.move(tx, id, 'cancelled', { ended: true, errorMessage: `cancelled by ${by}` });
      if (!cancelled) {
        const job = await store.get(tx, id);
        if (!job) throw new GenerationError('not_found', `There is no generation ${id}.`);
        throw new GenerationError('not_cancellable', `Generation ${id} is ${job.state}; only a job still waiting in the queue can be cancelled.`);
      }
      if (cancelled.holdId) await this.ledger.release(cancelled.holdId, `cancelled by ${by}`, tx);
      return cancelled;
    });
  }

  get(id: string): Promise<Generation | undefined> {
    return store.get(this.db, id);
  }

  history(teamId: string, userId?: string, limit = 20): Promise<Generation[]> {
    return store.history(this.db, teamId, userId, limit);
  }

  /** The latest success of the same normalized request in the last `withinDays` (default: Kling's 30-day retention). */
  findSucceededDuplicate(teamId: string, request: PricedRequest, withinDays = KLING_RETENTION_DAYS): Promise<Generation | undefined> {
    return store.latestSucceeded(this.db, teamId, requestKey(request), withinDays);
  }

  async setCard(id: string, channelId: string, ts: string): Promise<void> {
    if (!(await store.setCard(this.db, id, channelId, ts))) throw new GenerationError('not_found', `There is no generation ${id}.`);
  }

  /** Locks each person in the batch (in a fixed order, so two batches cannot deadlock) and checks the cap. */
  private async overUserCap(tx: Db, requests: EnqueueRequest[]): Promise<boolean> {
    const adding = new Map<string, { teamId: string; userId: string; n: number }>();
    for (const r of requests) {
      const key = `${r.teamId}/${r.userId}`;
      const entry = adding.get(key) ?? { teamId: r.teamId, userId: r.userId, n: 0 };
      entry.n += 1;
      adding.set(key, entry);
    }
    for (const key of [...adding.keys()].sort()) {
      const { teamId, userId, n } = adding.get(key)!;
      await store.lockUser(tx, teamId, userId);
      if ((await store.countQueued(tx, teamId, userId)) + n > this.options.maxQueuedPerUser) return true;
    }
    return false;
  }
}
