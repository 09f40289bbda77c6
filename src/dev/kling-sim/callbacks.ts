import { randomUUID } from 'node:crypto';
import { signWebhook } from '../../kling/callback';
import type { KlingTaskStatus } from '../../kling/schema';

export interface DeliveredCallback {
  url: string;
  taskId: string;
  status: KlingTaskStatus;
  httpStatus?: number;
  error?: string;
}

/**
 * Kling POSTs the bare task object (its legacy callback) on every status change, one after another per task.
 * With a webhook secret, each carries Standard-Webhooks signature headers, as Kling sends them once one exists.
 */
export class Callbacks {
  /** Every callback sent, in order, with how it was answered. */
  readonly delivered: DeliveredCallback[] = [];

  constructor(
    private readonly webhookSecret: string | undefined,
    private readonly now: () => number,
  ) {}

  /** Sends `payload` to `url` once `after` (the task's earlier callbacks) is done; answers the new chain. */
  send(after: Promise<void>, url: string, taskId: string, status: KlingTaskStatus, payload: unknown): Promise<void> {
    const body = JSON.stringify(payload);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.webhookSecret) {
      const id = `msg_${randomUUID()}`;
      const ts = Math.floor(this.now() / 1000);
      Object.assign(headers, {
        'webhook-id': id,
        'webhook-timestamp': String(ts),
        'webhook-signature': signWebhook(this.webhookSecret, id, ts, body),
      });
    }
    return after.then(async () => {
      const record: DeliveredCallback = { url, taskId, status };
      this.delivered.push(record);
      try {
        const response = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(5_000) });
        record.httpStatus = response.status;
        await response.arrayBuffer();
      } catch (error) {
        record.error = (error as Error).message;
      }
    });
  }
}
