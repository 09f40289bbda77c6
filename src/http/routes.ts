import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CustomRoute } from '@slack/bolt';
import { systemClock, type Clock } from '../clock';
import type { Database } from '../db';
import { KlingCallbackError, parseCallback, type KlingTaskStatus } from '../kling';
import { throttledWarn, type Logger } from '../log';
import type { BotMetrics } from './metrics';

export interface RouteDeps {
  database: Pick<Database, 'ping'>;
  metrics: BotMetrics;
  /** Worker.wake: a callback only says "look at this task soon"; the worker decides whether and when. */
  wake(generationId?: string, status?: KlingTaskStatus): void;
  webhookSecret?: string;
  logger: Logger;
  /** Judges a signed callback's timestamp. */
  now?: Clock;
}

const CALLBACK_BODY_LIMIT = 1024 * 1024;
/** A health check answers within this, database or not: a probe that waits longer counts as an outage. */
const HEALTH_TIMEOUT_MS = 1_000;
/** A probe still unanswered after this is given up on, so a hung one does not keep /healthz at 503 for good. */
const HEALTH_PROBE_STALE_MS = 10_000;

/**
 * One database probe at a time: during an outage every health check shares the probe in flight instead of
 * queueing another query behind it; each check waits for it at most `timeoutMs`.
 */
function healthProbe(ping: () => Promise<void>, timeoutMs: number): () => Promise<void> {
  let inFlight: { probe: Promise<void>; since: number } | undefined;
  return () => {
    if (!inFlight || performance.now() - inFlight.since > HEALTH_PROBE_STALE_MS) {
      const current = {
        probe: ping().finally(() => {
          if (inFlight === current) inFlight = undefined;
        }),
        since: performance.now(),
      };
      inFlight = current;
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer from the database within ${timeoutMs} ms`)), timeoutMs);
    });
    return Promise.race([inFlight.probe, timeout]).finally(() => clearTimeout(timer));
  };
}

function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new Error('body too large'));
        req.destroy();
      } else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, body: string, contentType = 'application/json'): void {
  res.writeHead(status, { 'content-type': contentType });
  res.end(body);
}

/** The bot's own HTTP routes beside Slack's `POST /slack/events`. */
export function httpRoutes(deps: RouteDeps): CustomRoute[] {
  const probe = healthProbe(() => deps.database.ping(), HEALTH_TIMEOUT_MS);
  // Refusals are a stranger's doing and may come by the thousand: one short line per 10 s, no stack.
  const refused = throttledWarn(deps.logger, 'Kling callback refused');
  return [
    {
      path: '/healthz',
      method: 'GET',
      handler: (_req, res) => {
        probe().then(
          () => send(res, 200, '{"ok":true}'),
          (error: unknown) => {
            deps.logger.warn({ err: error }, 'health check: the database does not answer');
            send(res, 503, '{"ok":false,"error":"database unreachable"}');
          },
        );
      },
    },
    {
      path: '/metrics',
      method: 'GET',
      handler: (_req, res) => {
        deps.metrics.registry.metrics().then(
          (text) => send(res, 200, text, deps.metrics.registry.contentType),
          (error: unknown) => {
            deps.logger.error({ err: error }, 'metrics could not be collected');
            send(res, 500, 'metrics unavailable\n', 'text/plain');
          },
        );
      },
    },
    {
      path: '/kling/callback',
      method: 'POST',
      handler: (req, res) => {
        readBody(req, CALLBACK_BODY_LIMIT)
          .then((raw) => {
            const task = parseCallback(raw, req.headers, deps.webhookSecret, {
              nowMs: (deps.now ?? systemClock)().getTime(),
            });
            // Never trusted for money: the worker re-queries Kling for this task. Our tasks all carry our id.
            if (task.externalTaskId) deps.wake(task.externalTaskId, task.status);
            send(res, 200, '{"ok":true}');
          })
          .catch((error: unknown) => {
            const forged = error instanceof KlingCallbackError && error.reason === 'signature';
            refused({ reason: error instanceof Error ? error.message : String(error) });
            send(
              res,
              forged ? 401 : 400,
              JSON.stringify({ ok: false, error: forged ? 'invalid signature' : 'invalid body' }),
            );
          });
      },
    },
  ];
}
