import { describe, expect, it } from 'vitest';
import { AcksFirst } from '../../src/slack/acks-first';

const turn = () => new Promise((resolve) => setImmediate(resolve));
/** Records when each promise settles, so the test can look without awaiting it. */
function watch(promise: Promise<void>): { done: boolean } {
  const state = { done: false };
  void promise.then(() => (state.done = true));
  return state;
}

describe('AcksFirst', () => {
  it('lets work through at once when no command awaits its ack', async () => {
    const gate = new AcksFirst();
    const work = watch(gate.settled());
    await turn();
    expect(work.done).toBe(true);
  });

  it('holds work until the last command of a burst is acked, and one turn after it', async () => {
    const gate = new AcksFirst(60_000);
    const first = gate.begin();
    const second = gate.begin();
    const work = watch(gate.settled());
    first();
    first(); // acking twice counts once
    await turn();
    await turn();
    expect(work.done).toBe(false);
    second();
    const third = gate.begin(); // arrives in the same turn as the last ack: still the same burst
    await turn();
    await turn();
    expect(work.done).toBe(false);
    third();
    await turn();
    await turn();
    expect(work.done).toBe(true);
  });

  it('never holds work longer than maxDeferMs under steady traffic', async () => {
    const gate = new AcksFirst(20);
    gate.begin(); // never acked
    const work = watch(gate.settled());
    await turn();
    expect(work.done).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(work.done).toBe(true);
  });
});
