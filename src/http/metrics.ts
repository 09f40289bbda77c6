import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { KlingAccount } from '../account';
import { LedgerReports } from '../budget';
import type { Db } from '../db';
import type { Generation } from '../generations';
import { jobsByState, pausedWorkspaces } from './store';

/** Everything /metrics exposes. One registry per bot, so tests can run several bots in one process. */
export function createMetrics(db: Db) {
  const ledger = new LedgerReports(db);
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'kling_bot_' });
  const registers = [registry];
  return {
    registry,
    commands: new Counter({
      name: 'kling_bot_commands_total',
      help: '/kling commands by subcommand',
      labelNames: ['command'],
      registers,
    }),
    refusals: new Counter({
      name: 'kling_bot_refusals_total',
      help: 'Requests refused, by the budget scope that refused them',
      labelNames: ['reason'],
      registers,
    }),
    klingErrors: new Counter({
      name: 'kling_bot_kling_errors_total',
      help: 'Jobs failed or queues paused by a Kling error code',
      labelNames: ['code'],
      registers,
    }),
    ackSeconds: new Histogram({
      name: 'kling_bot_ack_seconds',
      help: 'Time from receiving a Slack request to acknowledging it',
      labelNames: ['kind'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3],
      registers,
    }),
    estimateError: new Histogram({
      name: 'kling_bot_estimate_error_ratio',
      help: "Settled jobs' (Kling's charge - the estimate) / the estimate: above 0 when Kling charged more",
      buckets: [-0.5, -0.2, -0.1, -0.05, -0.01, -0.001, 0, 0.001, 0.01, 0.05, 0.1, 0.2, 0.5, 1],
      registers,
    }),
    jobs: new Gauge({
      name: 'kling_bot_jobs',
      help: 'Generations by state',
      labelNames: ['state'],
      registers,
      async collect() {
        this.reset();
        for (const { state, count } of await jobsByState(db)) this.set({ state }, count);
      },
    }),
    pausedQueues: new Gauge({
      name: 'kling_bot_queues_paused',
      help: 'Workspaces whose queue is paused because Kling refused the account; each waits for /kling queue resume',
      registers,
      async collect() {
        this.set(await pausedWorkspaces(db));
      },
    }),
    credits: new Gauge({
      name: 'kling_bot_credits',
      help: 'Credits (not millicredits) held by open holds and committed in total',
      labelNames: ['kind'],
      registers,
      async collect() {
        const totals = await ledger.creditTotals();
        this.set({ kind: 'held' }, totals.heldMc / 1000);
        this.set({ kind: 'committed' }, totals.committedMc / 1000);
      },
    }),
  };
}

export type BotMetrics = ReturnType<typeof createMetrics>;

/** The Kling packs on /metrics: units left (projected from the last reading) and seconds until each expires. */
export function registerAccountGauges(metrics: BotMetrics, account: Pick<KlingAccount, 'status'>, now: () => Date) {
  const registers = [metrics.registry];
  const status = () => account.status();
  return {
    packUnits: new Gauge({
      name: 'kling_bot_pack_units',
      help: 'Units left in each Kling resource pack: the last reading less what the ledger committed since',
      labelNames: ['pack', 'status'],
      registers,
      async collect() {
        this.reset();
        for (const p of (await status()).packs)
          this.set({ pack: p.name, status: p.status }, Math.max(0, p.remainingMc) / 1000);
      },
    }),
    packExpiry: new Gauge({
      name: 'kling_bot_pack_expiry_seconds',
      help: 'Seconds until each Kling resource pack expires (negative once expired)',
      labelNames: ['pack'],
      registers,
      async collect() {
        this.reset();
        for (const p of (await status()).packs)
          this.set({ pack: p.name }, (p.expiresAt.getTime() - now().getTime()) / 1000);
      },
    }),
  };
}

/** A settled job's estimate against what Kling charged (the worker emits each settlement once). */
export function observeEstimate(metrics: BotMetrics, job: Pick<Generation, 'estimateMc' | 'actualMc'>): void {
  if (job.actualMc === undefined || job.estimateMc <= 0) return;
  metrics.estimateError.observe((job.actualMc - job.estimateMc) / job.estimateMc);
}
