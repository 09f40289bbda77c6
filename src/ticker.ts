import type { Logger } from './log';

/** The timers a Ticker arms: Node's (unref'd, so a ticker never keeps the process alive), or a test's own. */
export interface Timers {
  setTimeout(run: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const nodeTimers: Timers = {
  setTimeout: (run, ms) => setTimeout(run, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout | undefined),
};

export interface TickerOptions {
  /** How long after one periodic tick ends the next one starts. */
  everyMs: number;
  logger: Logger;
  /** The error line logged when a tick throws. */
  failure: string;
  /** Run the first tick at start() instead of one period later. */
  atStart?: boolean;
  timers?: Timers;
}

/**
 * A background loop: runs its task every `everyMs`, and whenever asked (`tick`). Ticks never overlap: one asked
 * for while another runs waits for it, and the ticks waiting with the same argument are one. The next periodic
 * tick is armed when one ends, so a slow tick delays the loop rather than piling up. A tick that throws is
 * logged and the loop goes on. stop() waits for the tick in progress; the ticks still waiting are dropped.
 */
export class Ticker<A = undefined> {
  private readonly timers: Timers;
  private timer?: unknown;
  private started = false;
  private stopping = false;
  private chain: Promise<void> = Promise.resolve();
  private readonly waiting = new Map<A | undefined, Promise<void>>();

  constructor(
    private readonly task: (arg?: A) => Promise<void>,
    private readonly options: TickerOptions,
  ) {
    this.timers = options.timers ?? nodeTimers;
  }

  /** True once stop() was called: a tick in progress checks it before waiting on anything long. */
  get stopped(): boolean {
    return this.stopping;
  }

  start(): void {
    if (this.started || this.stopping) return;
    this.started = true;
    if (this.options.atStart) this.periodic();
    else this.arm();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.timers.clearTimeout(this.timer);
    await this.chain;
  }

  /** Runs the task (with `arg`) after the tick in progress; resolves when it has run. */
  tick(arg?: A): Promise<void> {
    const waiting = this.waiting.get(arg);
    if (waiting) return waiting;
    const run = this.chain.then(async () => {
      this.waiting.delete(arg);
      if (this.stopping) return;
      try {
        await this.task(arg);
      } catch (error) {
        this.options.logger.error({ err: error }, this.options.failure);
      }
    });
    this.waiting.set(arg, run);
    this.chain = run;
    return run;
  }

  private periodic(): void {
    void this.tick().then(() => this.arm());
  }

  private arm(): void {
    if (this.stopping) return;
    this.timer = this.timers.setTimeout(() => this.periodic(), this.options.everyMs);
  }
}
