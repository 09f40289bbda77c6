/**
 * Commands still waiting for their ack. Work that follows an ack (posting and updating job cards, waking
 * the worker) yields to them: Slack drops a command that is not acked within 3 s, while a card has no
 * deadline, so in a burst the acks go out first and the cards follow. `maxDeferMs` bounds the wait, so
 * steady traffic never starves the cards.
 */
export class AcksFirst {
  private waiting = 0;
  private readonly yielded = new Set<{ resolve: () => void; timer: NodeJS.Timeout }>();

  constructor(private readonly maxDeferMs = 2_000) {}

  /** A command arrived; call the returned function once it is acked (calling it twice is harmless). */
  begin(): () => void {
    this.waiting++;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      if (--this.waiting === 0) this.releaseSoon();
    };
  }

  /** Resolves when no command awaits its ack, or after maxDeferMs. */
  settled(): Promise<void> {
    if (this.waiting === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const entry = { resolve, timer: setTimeout(() => this.release(entry), this.maxDeferMs) };
      this.yielded.add(entry);
    });
  }

  /**
   * In a burst the next command is usually right behind the last ack (its request is being read), so the
   * count is looked at again after this turn's I/O before the burst is called over.
   */
  private releaseSoon(): void {
    setImmediate(() => {
      if (this.waiting === 0) for (const entry of this.yielded) this.release(entry);
    });
  }

  private release(entry: { resolve: () => void; timer: NodeJS.Timeout }): void {
    clearTimeout(entry.timer);
    this.yielded.delete(entry);
    entry.resolve();
  }
}
