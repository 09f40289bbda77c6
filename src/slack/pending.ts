import { randomUUID } from 'node:crypto';
import type { FollowUpKind } from '../generations';

/**
 * A request waiting for a button (confirm the price, generate anyway, request approval). Nothing is
 * held for it yet, so the button carries the command text itself and any replica can act on it; only
 * a text too long for a button value (2000) waits in this process's memory, for 30 minutes.
 */
export interface PendingRequest {
  /** The /kling generate command; empty for a follow-up, which is priced from the job it follows. */
  text: string;
  /** A job card's Re-roll, Extend or Upgrade: the job it follows up. */
  followUp?: { of: string; kind: FollowUpKind };
  confirmed?: boolean;
  skipDuplicate?: boolean;
  /** A nonce per rendered button: what it queues (or asks for) records it, so only its first click acts. */
  claim?: string;
}

const VALUE_LIMIT = 2000;
const TTL_MS = 30 * 60_000;

export class PendingRequests {
  private readonly memory = new Map<string, { request: PendingRequest; expires: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Every button gets a claim of its own, even one that carries on a request an earlier button carried. */
  encode(request: PendingRequest): string {
    request = { ...request, claim: randomUUID() };
    const inline = `v${JSON.stringify(request)}`;
    if (inline.length <= VALUE_LIMIT) return inline;
    for (const [key, entry] of this.memory) if (entry.expires < this.now()) this.memory.delete(key);
    const id = randomUUID();
    this.memory.set(id, { request, expires: this.now() + TTL_MS });
    return `m${id}`;
  }

  /** Undefined when the value is not ours or has expired. */
  decode(value: string): PendingRequest | undefined {
    if (value.startsWith('v')) {
      try {
        const parsed = JSON.parse(value.slice(1)) as PendingRequest;
        return typeof parsed.text === 'string' ? parsed : undefined;
      } catch {
        return undefined;
      }
    }
    const entry = this.memory.get(value.slice(1));
    return entry && entry.expires >= this.now() ? entry.request : undefined;
  }
}
