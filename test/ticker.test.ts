import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { Ticker, type Timers } from '../src/ticker';

/** Timers the test fires by hand: what is armed, and for how long, is plain to see. */
class ManualTimers implements Timers {
  armed = new Map<number, { run: () => void; ms: number }>();
  private next = 0;

  setTimeout(run: () => void, ms: number): unknown {
    const id = ++this.next;
    this.armed.set(id, { run, ms });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.armed.delete(handle as number);
  }

  /** Fires every armed timer once. */
  fire(): void {
    const due = [...this.armed];
    this.armed.clear();
    for (const [, timer] of due) timer.run();
  }
}

/** A task whose runs the test ends one by one. */
function gate() {
  const runs: { arg: unknown; finish: (error?: Error) => void }[] = [];
  let active = 0;
  let most = 0;
  const task = (arg?: unknown) =>
    new Promise<void>((resolve, reject) => {
      active++;
      most = Math.max(most, active);
      runs.push({
        arg,
        finish: (error) => {
          active--;
          if (error) reject(error);
          else resolve();
        },
      });
    });
  return { task, runs, most: () => most, active: () => active };
}

function logs() {
  const lines: { level: number; msg: string; err?: { message: string } }[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()));
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

/** Lets the promise callbacks run (the task's resolution reaches the ticker through a few of them). */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('Ticker', () => {
  it('runs at start when asked, then every period after the previous tick ended', async () => {
    const timers = new ManualTimers();
    const { task, runs } = gate();
    const ticker = new Ticker(task, { everyMs: 60_000, atStart: true, logger: logs().logger, failure: 'x', timers });
    ticker.start();
    await settle();
    expect(runs).toHaveLength(1);
    // The next tick is armed only when this one ends: a slow tick delays the loop, it does not pile up.
    expect(timers.armed.size).toBe(0);
    runs[0]!.finish();
    await settle();
    expect([...timers.armed.values()].map((t) => t.ms)).toEqual([60_000]);
    timers.fire();
    await settle();
    expect(runs).toHaveLength(2);
    runs[1]!.finish();
    await ticker.stop();
  });

  it('never runs two ticks at once, and ticks asked for meanwhile with the same argument are one', async () => {
    const timers = new ManualTimers();
    const { task, runs, most } = gate();
    const ticker = new Ticker<string>(task, { everyMs: 1_000, logger: logs().logger, failure: 'x', timers });
    ticker.start();
    const first = ticker.tick('T1');
    await settle();
    const waiting = [ticker.tick('T1'), ticker.tick('T1'), ticker.tick('T2')];
    timers.fire(); // the periodic tick (no argument) joins the queue too
    await settle();
    expect(runs.map((r) => r.arg)).toEqual(['T1']);
    runs[0]!.finish();
    await first;
    for (let i = 1; i < 4; i++) {
      await settle();
      expect(runs).toHaveLength(i + 1);
      runs[i]!.finish();
    }
    await Promise.all(waiting);
    await settle();
    expect(runs.map((r) => r.arg)).toEqual(['T1', 'T1', 'T2', undefined]);
    expect(most()).toBe(1);
    await ticker.stop();
  });

  it('stop() waits for the tick in progress, drops the waiting ones and arms nothing more', async () => {
    const timers = new ManualTimers();
    const { task, runs } = gate();
    const ticker = new Ticker(task, { everyMs: 1_000, atStart: true, logger: logs().logger, failure: 'x', timers });
    ticker.start();
    await settle();
    const waiting = ticker.tick();
    let stopped = false;
    const stopping = ticker.stop().then(() => (stopped = true));
    expect(ticker.stopped).toBe(true);
    await settle();
    expect(stopped).toBe(false);
    runs[0]!.finish();
    await stopping;
    await waiting;
    expect(runs).toHaveLength(1);
    expect(timers.armed.size).toBe(0);
    await ticker.tick();
    expect(runs).toHaveLength(1);
  });

  it('logs a tick that throws, and the next tick still runs', async () => {
    const timers = new ManualTimers();
    const { task, runs } = gate();
    const { logger, lines } = logs();
    const failure = 'forecast and spike alerts could not be checked';
    const ticker = new Ticker(task, { everyMs: 1_000, atStart: true, logger, failure, timers });
    ticker.start();
    await settle();
    runs[0]!.finish(new Error('the database is away'));
    await settle();
    expect(lines).toMatchObject([{ level: 50, msg: failure, err: { message: 'the database is away' } }]);
    expect(timers.armed.size).toBe(1);
    timers.fire();
    await settle();
    expect(runs).toHaveLength(2);
    runs[1]!.finish();
    await settle();
    expect(lines).toHaveLength(1);
    await ticker.stop();
  });

  it("with Node's timers, ticks on its own until stopped", async () => {
    let ticks = 0;
    const ticker = new Ticker(async () => void ticks++, { everyMs: 5, logger: logs().logger, failure: 'x' });
    ticker.start();
    await new Promise((resolve) => setTimeout(resolve, 100));
    await ticker.stop();
    const seen = ticks;
    expect(seen).toBeGreaterThan(1);
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(ticks).toBe(seen);
  });
});
