import { WebAPIHTTPError, WebAPIPlatformError, WebAPIRateLimitedError, WebAPIRequestError } from '@slack/web-api';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../log';

/**
 * Retries a Slack call that must land eventually (a job card, an alert). The WebClient is built with
 * rejectRateLimitedCalls, so a 429 reaches us as WebAPIRateLimitedError and we wait its Retry-After
 * here, for this one message, instead of the client pausing every call. Network and 5xx errors back
 * off; ok:false answers (channel_not_found, invalid_blocks, …) are final and thrown at once.
 */
export interface DeliveryOptions {
  logger: Logger;
  attempts?: number;
  /** Checked before each wait, so shutdown does not sit out a long Retry-After. */
  stopped?: () => boolean;
}

/** Errors that mean the bot cannot post in the channel until someone fixes it (a retry would not help). */
const CHANNEL_CLOSED = new Set(['not_in_channel', 'channel_not_found', 'is_archived', 'restricted_action']);

/** The Slack error that closes the channel to the bot, if `error` is one. */
export function channelClosed(error: unknown): string | undefined {
  return error instanceof WebAPIPlatformError && CHANNEL_CLOSED.has(error.data.error) ? error.data.error : undefined;
}

function isTransient(error: unknown): boolean {
  return (
    error instanceof WebAPIRateLimitedError || error instanceof WebAPIRequestError || error instanceof WebAPIHTTPError
  );
}

export async function deliver<T>(what: string, call: () => Promise<T>, options: DeliveryOptions): Promise<T> {
  const attempts = options.attempts ?? 8;
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (!isTransient(error) || attempt >= attempts || options.stopped?.()) throw error;
      const waitMs =
        error instanceof WebAPIRateLimitedError ? error.retryAfter * 1000 + 100 : Math.min(30_000, 500 * 2 ** attempt);
      options.logger.warn({ what, attempt, waitMs, err: error }, 'Slack call failed; retrying');
      await sleep(waitMs);
    }
  }
}
