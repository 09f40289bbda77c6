import { randomUUID } from 'node:crypto';
import type { Ledger, LedgerEvent } from '../budget';
import { systemClock, type Clock } from '../clock';
import type { Db } from '../db';
import { KlingApiError, KlingError, type KlingClient, type KlingTask, type KlingTaskStatus } from '../kling';
import { throttledWarn, type Logger } from '../log';
import { parseCreditsRounded, type Millicredits } from '../money/credits';
import { canMove } from './states';
import * as store from './store';
import type { Generation, GenerationResult, WorkerEvent } from './types';

export interface WorkerOptions {
  /** Kling tasks in flight per workspace (KLING_MAX_CONCURRENCY), counted in the database across replicas. */
  maxConcurrency: number;
  /** Kling tasks in flight for the whole account, all workspaces together (default: maxConcurrency). */
  accountConcurrency?: number;
  /** How often an idle worker looks for work (default: pollMs, at most 2 s). */
  idleMs?: number;
  /** Without callbacks, a task is first queried after this (default 5 s), then every half its age... */
  pollMs?: number;
  /** ... but at most this far apart (default 30 s: after the first minute, one query per 30 s). */
  pollMaxMs?: number;
  /** Kling calls back on each status change (PUBLIC_URL is set): callbacks replace polling. */
  callbacks?: boolean;
  /** With callbacks, a task is still queried this often, in case a callback was lost (default 3 min). */
  safetyPollMs?: number;
  /**
   * A callback brings a task's next query forward, but never closer than this to the last one (default 5 s), so
   * any number of callbacks (forged ones too, without a webhook secret) costs at most one query per task per gap.
   */
  callbackGapMs?: number;
  /** A task with no end after this long raises one 'stuck' event and keeps its hold. */
  taskTimeoutMinutes: number;
  /** Unique per live replica. A restart under the same id takes its unfinished jobs back at once. */
  workerId?: string;
  logger?: Logger;
  /** The clock a job's age is read on. */
  now?: Clock;
  /** First retry delay after Kling refused or failed a create; doubles per attempt (default 1 s, up to 60 s). */
  retryMs?: number;
  retryMaxMs?: number;
  /** Create attempts before a job that Kling keeps refusing with a server error is failed (default 8). */
  maxAttempts?: number;
  /** How long a claim keeps other workers off a job; renewed while the job is being worked on (default 30 s). */
  leaseMs?: number;
  /** Jobs this worker acts on at once (default 32). */
  parallel?: number;
}

type Step = (job: Generation) => Promise<void>;

/** Callbacks waiting to be recorded, at most; more are dropped until the batch is written. */
const MAX_PENDING_CALLBACKS = 1_000;

/** What Kling said, for a person: its own message when it gave one. */
function reasonOf(error: unknown): { code?: number; message: string } {
  if (error instanceof KlingApiError) return { code: error.code, message: error.klingMessage || error.message };
  return { message: error instanceof Error ? error.message : String(error) };
}

/** An answer that may hide a created task (no answer at all, or a server error): look it up before creating again. */
function createMayHaveLanded(error: unknown): boolean {
  return !(error instanceof KlingApiError) || error.code >= 5000;
}

function notFound(error: unknown): boolean {
  return error instanceof KlingApiError && error.code === 1203;
}

/**
 * Takes queued jobs to Kling and back (ARCHITECTURE.md, generations/). Every step is a committed row update; a worker may die
 * between any two and another (or its restart) finishes the job without a second Kling task: a job is marked
 * `submitting` before the create call, and a `submitting` job is looked up by its external_task_id before
 * anything is created again. Settlement and the final state change share one transaction.
 */
export class Worker {
  private readonly id: string;
  private readonly caps: store.Caps;
  private readonly idleMs: number;
  private readonly pollMs: number;
  private readonly pollMaxMs: number;
  private readonly safetyPollMs: number;
  private readonly callbackGapMs: number;
  private readonly retryMs: number;
  private readonly retryMaxMs: number;
  private readonly maxAttempts: number;
  private readonly leaseMs: number;
  private readonly parallel: number;
  private readonly now: Clock;
  private readonly listeners: ((event: WorkerEvent) => void)[] = [];
  /** Jobs this worker is acting on now. */
  private readonly ops = new Map<string, Promise<void>>();
  /** Callbacks not yet recorded in the database: job id → the status it reported. */
  private readonly calledBack = new Map<string, KlingTaskStatus | undefined>();
  private recording?: Promise<void>;
  /** A database outage during a callback flood writes a line per 10 s, not one per batch. */
  private readonly recordFailed?: (fields: Record<string, unknown>) => void;
  /** Teams told about a Kling auth failure, until a call succeeds again. */
  private readonly authAlerted = new Set<string>();
  private running = false;
  private loopDone?: Promise<void>;
  private leaseTimer?: NodeJS.Timeout;
  private nudged = false;
  private interrupt: () => void = () => {};

  constructor(
    private readonly db: Db,
    private readonly ledger: Ledger,
    private readonly kling: KlingClient,
    private readonly options: WorkerOptions,
  ) {
    this.id = options.workerId ?? `worker-${randomUUID()}`;
    this.caps = { perTeam: options.maxConcurrency, account: options.accountConcurrency ?? options.maxConcurrency };
    this.pollMs = options.pollMs ?? 5_000;
    this.idleMs = options.idleMs ?? Math.min(this.pollMs, 2_000);
    this.pollMaxMs = Math.max(this.pollMs, options.pollMaxMs ?? 30_000);
    this.safetyPollMs = options.safetyPollMs ?? 180_000;
    this.callbackGapMs = options.callbackGapMs ?? 5_000;
    const unrecorded = 'Kling callbacks could not be recorded; the safety poll will catch up';
    this.recordFailed = options.logger && throttledWarn(options.logger, unrecorded);
    this.retryMs = options.retryMs ?? 1_000;
    this.retryMaxMs = Math.max(this.retryMs, options.retryMaxMs ?? 60_000);
    this.maxAttempts = options.maxAttempts ?? 8;
    this.leaseMs = options.leaseMs ?? 30_000;
    this.parallel = options.parallel ?? 32;
    this.now = options.now ?? systemClock;
  }

  on(listener: (event: WorkerEvent) => void): void {
    this.listeners.push(listener);
  }

  /** Recovery first (own unfinished jobs due now, unsettled holds settled), then the loop. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    const reclaimed = await store.reclaim(this.db, this.id);
    if (reclaimed)
      this.options.logger?.info({ worker: this.id, jobs: reclaimed }, 'taking back jobs from before a restart');
    await this.settleUnsettled();
    this.leaseTimer = setInterval(() => void this.renewLeases(), Math.max(50, Math.floor(this.leaseMs / 3)));
    this.loopDone = this.loop();
  }

  /** Stops claiming and waits for the jobs in hand to reach their next committed step. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.nudge();
    await this.loopDone;
    await Promise.allSettled([...this.ops.values(), this.recording]);
    clearInterval(this.leaseTimer);
  }

  /**
   * Look for work now; with an id (a Kling callback, and the status it reported), query that task soon: once
   * per callback gap however many callbacks come, and only if it is in flight and the status is news.
   */
  wake(generationId?: string, status?: KlingTaskStatus): void {
    if (!generationId) return this.nudge();
    // Bounded, so a flood of made-up ids cannot grow it; a callback left out is caught by the safety poll.
    if (this.calledBack.size < MAX_PENDING_CALLBACKS) this.calledBack.set(generationId, status);
    this.recording ??= this.recordCallbacks().finally(() => (this.recording = undefined));
  }

  /** Writes the pending callbacks, a batch per round trip; nudges the loop only when one may be queried now. */
  private async recordCallbacks(): Promise<void> {
    while (this.calledBack.size > 0) {
      const batch = [...this.calledBack].map(([id, status]) => ({ id, status }));
      this.calledBack.clear();
      try {
        if (await store.markCalledBack(this.db, batch, this.callbackGapMs)) this.nudge();
      } catch (error) {
        this.recordFailed?.({ reason: error instanceof Error ? error.message : String(error) });
      }
    }
  }

  /** Un-pauses a workspace's queue after Kling refused the account (1100/1101/1102); false when it was not paused. */
  async resume(teamId: string): Promise<boolean> {
    const resumed = await store.resumeTeam(this.db, teamId);
    if (resumed) this.emit({ kind: 'queue-resumed', teamId });
    this.nudge();
    return resumed;
  }

  // ---- the loop ----

  private async loop(): Promise<void> {
    while (this.running) {
      let started = 0;
      try {
        started = await this.fill();
      } catch (error) {
        this.options.logger?.error({ err: error, worker: this.id }, 'queue claim failed');
      }
      if (started === 0 && this.running) await this.idle(this.idleMs);
    }
  }

  /** Claims what is due, as room allows, and starts acting on it; returns how many jobs it started. */
  private async fill(): Promise<number> {
    let started = 0;
    const room = () => this.parallel - this.ops.size;
    const begin = (jobs: Generation[], step: Step) => {
      for (const job of jobs) if (this.begin(job, step)) started += 1;
    };
    const due = await store.claimDue(this.db, this.id, this.leaseMs, this.callbackGapMs, room());
    begin(due, (job) => (job.state === 'submitting' ? this.resolve(job) : this.poll(job)));
    if (this.running)
      begin(await store.claimSubmissions(this.db, this.caps, room(), this.id, this.leaseMs), (job) => this.submit(job));
    return started;
  }

  private begin(job: Generation, step: Step): boolean {
    if (this.ops.has(job.id)) return false;
    const op = step(job)
      .catch((error) =>
        this.options.logger?.error(
          { err: error, generation: job.id },
          'generation step failed; it will be retried when its lease ends',
        ),
      )
      .finally(() => {
        this.ops.delete(job.id);
        this.nudge();
      });
    this.ops.set(job.id, op);
    return true;
  }

  private idle(ms: number): Promise<void> {
    if (this.nudged) {
      this.nudged = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.interrupt = () => {};
        this.nudged = false;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.interrupt = done;
    });
  }

  private nudge(): void {
    this.nudged = true;
    this.interrupt();
  }

  private async renewLeases(): Promise<void> {
    try {
      await store.renewLeases(this.db, this.id, [...this.ops.keys()], this.leaseMs);
    } catch (error) {
      this.options.logger?.warn({ err: error }, 'lease renewal failed');
    }
  }

  // ---- steps ----

  /** A job just claimed from the queue: it is `submitting` (committed), so the create may go out. */
  private async submit(job: Generation): Promise<void> {
    this.emitJob(job);
    await this.create(job);
  }

  private async create(job: Generation): Promise<void> {
    let task: KlingTask;
    try {
      task = await this.kling.create(job.endpoint, { ...job.request, external_task_id: job.id });
    } catch (error) {
      await this.createFailed(job, error);
      return;
    }
    this.authAlerted.delete(job.teamId);
    await this.apply(job, task);
  }

  /** A `submitting` job nobody is acting on (its worker died, or its create got no clear answer). */
  private async resolve(job: Generation): Promise<void> {
    let task: KlingTask;
    try {
      task = await this.kling.query(job.endpoint, { externalTaskId: job.id });
    } catch (error) {
      if (!notFound(error)) {
        if (error instanceof KlingError && error.action === 'reauth')
          this.alertAuth(job.teamId, reasonOf(error).message);
        return this.later(job, error, this.backoff(job.attempts));
      }
      // Kling has no such task, so the earlier create never landed: creating now makes the only one.
      if (job.attempts >= this.maxAttempts) {
        return this.fail(
          job,
          job.errorCode,
          `Kling did not take the task after ${job.attempts} tries${job.errorMessage ? `: ${job.errorMessage}` : ''}`,
        );
      }
      const retried = await store.touch(this.db, job.id, 'submitting', {
        attempts: job.attempts + 1,
        leasedBy: this.id,
        nextInMs: this.leaseMs,
      });
      if (retried) await this.create(retried);
      return;
    }
    await this.apply(job, task);
  }

  private async poll(job: Generation): Promise<void> {
    if (!job.klingTaskId) return this.resolve(job);
    let task: KlingTask;
    try {
      task = await this.kling.query(job.endpoint, { taskId: job.klingTaskId });
    } catch (error) {
      // The task exists and may be charged: whatever Kling says now, keep the hold and look again later.
      if (error instanceof KlingError && error.action === 'reauth') this.alertAuth(job.teamId, reasonOf(error).message);
      return this.later(job, error, this.pollDelay(job));
    }
    this.authAlerted.delete(job.teamId);
    await this.apply(job, task);
  }

  /** Records what Kling says about the task: its progress, or its end (settled). */
  private async apply(job: Generation, task: KlingTask): Promise<void> {
    if (task.status === 'succeed') return this.succeed(job, task);
    if (task.status === 'failed')
      return this.fail(job, undefined, task.statusMessage || 'Kling reported the task as failed', task.taskId);
    const next = { klingTaskId: task.taskId, nextInMs: this.pollDelay(job), errorCode: null, errorMessage: null };
    const to = canMove(job.state, task.status) ? task.status : job.state;
    const updated =
      to === job.state ? await store.touch(this.db, job.id, to, next) : await store.move(this.db, job.id, to, next);
    if (!updated) return;
    if (to !== job.state) this.emitJob(updated);
    await this.checkStuck(updated);
  }

  /** What to do with a create Kling did not accept: the action kling/errors.ts gives its code. */
  private async createFailed(job: Generation, error: unknown): Promise<void> {
    const action = error instanceof KlingError ? error.action : 'retry';
    const { code, message } = reasonOf(error);
    const reason = { errorCode: code ?? null, errorMessage: message };
    if (action === 'fail') return this.fail(job, code, message);
    if (action === 'reauth') {
      this.alertAuth(job.teamId, message);
      return this.fail(job, code, message);
    }
    if (action === 'retry' && createMayHaveLanded(error)) {
      // It stays `submitting` (it may hold a slot at Kling); the next look is a query by external_task_id.
      this.options.logger?.warn(
        { generation: job.id, attempt: job.attempts, error: message },
        'Kling create got no clear answer; will look it up',
      );
      await store.touch(this.db, job.id, 'submitting', { ...reason, nextInMs: this.backoff(job.attempts) });
      return;
    }
    // Kling refused the create outright (1302/1303 busy, or the account paused): back in the queue, hold kept.
    // The pause goes first, so no worker picks the job up again in between.
    // The alert goes out after the job is back in the queue, so what it says ("queued videos wait") is already true.
    const paused = action === 'pause' && (await store.pauseTeam(this.db, job.teamId, message));
    // A busy account is not the request's fault, so the try does not count toward maxAttempts.
    const delay = action === 'pause' ? 0 : this.backoff(job.attempts);
    const requeued = await store.move(this.db, job.id, 'queued', {
      ...reason,
      attempts: job.attempts - 1,
      nextInMs: delay,
    });
    if (requeued) this.emitJob(requeued);
    if (paused) this.emit({ kind: 'queue-paused', teamId: job.teamId, reason: message, code: code ?? 0 });
  }

  /** Keeps the job's state and looks again after `delayMs`. */
  private async later(job: Generation, error: unknown, delayMs: number): Promise<void> {
    const { code, message } = reasonOf(error);
    this.options.logger?.warn(
      { generation: job.id, state: job.state, error: message },
      'Kling call failed; will try again',
    );
    const updated = await store.touch(this.db, job.id, job.state, {
      nextInMs: delayMs,
      ...(job.state === 'submitting' && { errorCode: code ?? null, errorMessage: message }),
    });
    if (updated) await this.checkStuck(updated);
  }

  // ---- settlement: the state change and the ledger in one transaction ----

  private async succeed(job: Generation, task: KlingTask): Promise<void> {
    const actualMc = this.actualCost(job, task);
    const result: GenerationResult = {
      videos: task.videos.map((v) => ({ id: v.id, url: v.url, duration: v.duration })),
      images: task.images.map((i) => ({ index: i.index, url: i.url })),
    };
    let events: LedgerEvent[] = [];
    const done = await this.db.transaction(async (tx) => {
      const row = await store.move(tx, job.id, 'succeeded', {
        ended: true,
        klingTaskId: task.taskId,
        result,
        actualMc,
        errorCode: null,
        errorMessage: null,
      });
      if (row?.holdId) {
        const committed = await this.ledger.commit(row.holdId, actualMc, tx);
        if (committed.outcome === 'already-committed') this.settledBefore(row, committed.outcome);
        events = committed.events;
      }
      return row;
    });
    if (!done) return;
    this.emitJob(done);
    for (const event of events) this.emit({ kind: 'ledger', event });
  }

  private async fail(job: Generation, code: number | undefined, message: string, klingTaskId?: string): Promise<void> {
    const done = await this.db.transaction(async (tx) => {
      const row = await store.move(tx, job.id, 'failed', {
        ended: true,
        errorCode: code ?? null,
        errorMessage: message,
        ...(klingTaskId && { klingTaskId }),
      });
      if (row?.holdId) {
        const outcome = await this.ledger.release(row.holdId, `generation failed: ${message}`, tx);
        if (outcome !== 'released') this.settledBefore(row, outcome);
      }
      return row;
    });
    if (done) this.emitJob(done);
  }

  /** Kling's final_unit_deduction when it gave a readable, non-negative one, else the estimate that was held. */
  private actualCost(job: Generation, task: KlingTask): Millicredits {
    if (task.finalUnitDeduction === undefined) return job.estimateMc;
    try {
      const charged = parseCreditsRounded(task.finalUnitDeduction);
      // A negative charge is no charge Kling can make; the ledger would refuse it and the job would never end.
      if (charged >= 0) return charged;
    } catch {
      // Unreadable: the estimate, as below.
    }
    const unreadable = { generation: job.id, finalUnitDeduction: task.finalUnitDeduction };
    this.options.logger?.warn(unreadable, 'unreadable final_unit_deduction; committing the estimate');
    return job.estimateMc;
  }

  /** Recovery: ended jobs whose hold is still open get the settlement their end implies (idempotent in the ledger). */
  private async settleUnsettled(): Promise<void> {
    for (const job of await store.endedWithHolds(this.db, await this.ledger.reports.openHoldIds())) {
      if (job.state === 'succeeded') {
        const { outcome, events } = await this.ledger.commit(job.holdId!, job.actualMc ?? job.estimateMc);
        if (outcome === 'already-committed') this.settledBefore(job, outcome);
        for (const event of events) this.emit({ kind: 'ledger', event });
      } else {
        const outcome = await this.ledger.release(job.holdId!, `generation ${job.state}`);
        if (outcome !== 'released') this.settledBefore(job, outcome);
      }
    }
  }

  /** Another replica (or its recovery) settled the hold first: nothing changed; worth a line in the log. */
  private settledBefore(job: Generation, outcome: 'already-committed' | 'already-released'): void {
    this.options.logger?.info({ generation: job.id, hold: job.holdId, outcome }, 'hold was settled before');
  }

  // ---- timing and events ----

  /**
   * When to ask Kling about a running task again. With callbacks, only the safety poll. Without, polls back
   * off as the task ages: half its age, within [pollMs, pollMaxMs] (by default 5 s, 5 s, 7.5 s, 11 s ... and
   * from the first minute on every 30 s), since a video takes minutes and an early answer is rarely news.
   */
  private pollDelay(job: Generation): number {
    if (this.options.callbacks) return this.safetyPollMs;
    const age = job.submittedAt ? this.now().getTime() - job.submittedAt.getTime() : 0;
    return Math.min(this.pollMaxMs, Math.max(this.pollMs, Math.round(age / 2)));
  }

  /** Exponential with jitter (half to full), so replicas retrying together spread out. */
  private backoff(attempts: number): number {
    const full = Math.min(this.retryMaxMs, this.retryMs * 2 ** Math.max(0, attempts - 1));
    return Math.round(full / 2 + (Math.random() * full) / 2);
  }

  private async checkStuck(job: Generation): Promise<void> {
    if (!job.submittedAt) return;
    const ageMs = this.now().getTime() - job.submittedAt.getTime();
    if (ageMs < this.options.taskTimeoutMinutes * 60_000) return;
    if (await store.markStuck(this.db, job.id))
      this.emit({ kind: 'stuck', generation: job, minutes: Math.floor(ageMs / 60_000) });
  }

  private alertAuth(teamId: string, message: string): void {
    if (this.authAlerted.has(teamId)) return;
    this.authAlerted.add(teamId);
    this.emit({ kind: 'kling-auth', teamId, message });
  }

  private emitJob(generation: Generation): void {
    this.emit({ kind: 'job', generation });
  }

  private emit(event: WorkerEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        this.options.logger?.error({ err: error, event: event.kind }, 'worker event listener threw');
      }
    }
  }
}
