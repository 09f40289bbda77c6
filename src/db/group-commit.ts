import type { Db } from './index';

/** What a group run gives back for each item, in the items' order. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

interface Pending<I, T> {
  item: I;
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit: while one group of a key (a workspace) is running, further items for that key wait, and then
 * run together as the next group, in arrival order. One group is meant to be one transaction (see
 * transactionPerGroup), so a burst pays one COMMIT, one WAL flush and one hand-over of a hot row per group
 * instead of one per item. A lone item runs at once, with no timer. Used by the queue's enqueue and the
 * ledger's reserve.
 */
export class GroupCommit<I, T> {
  private readonly waiting = new Map<string, Pending<I, T>[]>();

  constructor(
    private readonly run: (items: I[], key: string) => Promise<Outcome<T>[]>,
    private readonly maxGroup = 100,
  ) {}

  submit(key: string, item: I): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const queue = this.waiting.get(key);
      if (queue) {
        queue.push({ item, resolve, reject });
        return;
      }
      this.waiting.set(key, [{ item, resolve, reject }]);
      // A microtask, not a timer: calls made in the same tick join the first group.
      queueMicrotask(() => void this.drain(key));
    });
  }

  /** Runs the key's groups one after another until nobody is waiting; the key's entry marks "running". */
  private async drain(key: string): Promise<void> {
    const queue = this.waiting.get(key)!;
    while (queue.length > 0) {
      const group = queue.splice(0, this.maxGroup);
      try {
        const outcomes = await this.run(
          group.map((p) => p.item),
          key,
        );
        group.forEach((p, i) => {
          const outcome = outcomes[i]!;
          if (outcome.ok) p.resolve(outcome.value);
          else p.reject(outcome.error);
        });
      } catch (error) {
        // The group's transaction itself failed (e.g. at COMMIT): nothing of it was kept.
        for (const p of group) p.reject(error);
      }
    }
    this.waiting.delete(key);
  }
}

/**
 * Runs a group as one transaction. If its work fails, nothing of it was kept, and each item runs again in a
 * transaction of its own, so an error stays with the item that caused it. If the work succeeded and the
 * COMMIT failed (a dropped connection), the group may have been kept: running the items again could hold
 * twice, so every item gets the error instead, and the caller says the outcome is unknown.
 */
export async function transactionPerGroup<I, T>(
  db: Db,
  items: I[],
  work: (tx: Db, items: I[]) => Promise<T[]>,
): Promise<Outcome<T>[]> {
  let worked = false;
  try {
    const values = await db.transaction(async (tx) => {
      const done = await work(tx, items);
      worked = true;
      return done;
    });
    return values.map((value) => ({ ok: true, value }));
  } catch (error) {
    if (worked) return items.map(() => ({ ok: false, error }));
    const outcomes: Outcome<T>[] = [];
    for (const item of items) {
      try {
        const [value] = await db.transaction((tx) => work(tx, [item]));
        outcomes.push({ ok: true, value: value! });
      } catch (error) {
        outcomes.push({ ok: false, error });
      }
    }
    return outcomes;
  }
}
