import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Db } from '../db';
import { creditTotals, jobsByState, pausedWorkspaces } from './store';

/** Everything /metrics exposes. One registry per bot, so tests can run several bots in one process. */
export function createMetrics(db: Db) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'kling_bot_' });
  const registers = [registry];
  return {
    registry,
    commands: new Counter({ name: 'kling_bot_commands_total', help: '/kling commands by subcommand', labelNames: ['command'], registers }),
    refusals: new Counter({ name: 'kling_bot_refusals_total', help: 'Requests refused, by the budget scope that refused them', labelNames: ['reason'], registers }),
    klingErrors: new Counter({ name: 'kling_bot_kling_errors_total', help: 'Jobs failed or queues paused by a Kling error code', labelNames: ['code'], registers }),
    ackSeconds: new Histogram({
      name: 'kling_bot_ack_seconds',
      help: 'Time from receiving a Slack request to acknowledging it',
      labelNames: ['kind'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3],
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
        const totals = await creditTotals(db);
        this.set({ kind: 'held' }, totals.heldMc / 1000);
        this.set({ kind: 'committed' }, totals.committedMc / 1000);
      },
    }),
  };
}

export type BotMetrics = ReturnType<typeof createMetrics>;
