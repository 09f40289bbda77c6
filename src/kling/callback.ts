import { createHmac, timingSafeEqual } from 'node:crypto';
import { KlingCallbackError } from './errors';
import { envelopeSchema, taskDataSchema, toKlingTask, type KlingTask } from './schema';
import { standardTaskSchema, standardToKlingTask } from './standard';

/** Kling's webhook signature is the Standard Webhooks scheme: reject anything older or newer than 5 minutes. */
const WEBHOOK_TOLERANCE_SEC = 5 * 60;

function webhookKey(secret: string): Buffer {
  return Buffer.from(secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret, 'base64');
}

/** `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">` — what Kling puts in `webhook-signature`. */
export function signWebhook(secret: string, id: string, timestampSec: number, rawBody: string): string {
  const mac = createHmac('sha256', webhookKey(secret)).update(`${id}.${timestampSec}.${rawBody}`).digest('base64');
  return `v1,${mac}`;
}

type Headers = Record<string, string | string[] | undefined>;

function header(headers: Headers, name: string): string | undefined {
  const key = Object.keys(headers).find((k) => k.toLowerCase() === name);
  const value = key === undefined ? undefined : headers[key];
  return Array.isArray(value) ? value[0] : value;
}

/** Throws KlingCallbackError unless one of the (space-separated, during rotation) signatures matches and the timestamp is fresh. */
function verifyWebhook(rawBody: string, headers: Headers, secret: string, nowMs = Date.now()): void {
  const id = header(headers, 'webhook-id');
  const timestamp = header(headers, 'webhook-timestamp');
  const signatures = header(headers, 'webhook-signature');
  if (!id || !timestamp || !signatures)
    throw new KlingCallbackError('Kling callback is missing its webhook signature headers', 'signature');
  const seconds = Number(timestamp);
  if (!/^\d+$/.test(timestamp) || Math.abs(nowMs / 1000 - seconds) > WEBHOOK_TOLERANCE_SEC) {
    throw new KlingCallbackError('Kling callback timestamp is outside the 5-minute window', 'signature');
  }
  const expected = Buffer.from(signWebhook(secret, id, seconds, rawBody).slice(3), 'base64');
  const matches = signatures.split(' ').some((candidate) => {
    const [version, value] = candidate.split(',');
    if (version !== 'v1' || !value) return false;
    const given = Buffer.from(value, 'base64');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
  if (!matches) throw new KlingCallbackError('Kling callback signature does not match', 'signature');
}

/**
 * A callback body as a task. Official docs send the bare task object; one third-party copy shows it inside
 * the usual envelope, so that form is accepted too. With a webhook secret the signature is checked first.
 */
export function parseCallback(
  rawBody: string,
  headers: Headers,
  webhookSecret?: string,
  options: { nowMs?: number } = {},
): KlingTask {
  if (webhookSecret) verifyWebhook(rawBody, headers, webhookSecret, options.nowMs);
  let json: unknown;
  try {
    json = JSON.parse(rawBody);
  } catch {
    throw new KlingCallbackError('Kling callback body is not JSON', 'body');
  }
  const enveloped = envelopeSchema.safeParse(json);
  const candidate = enveloped.success && enveloped.data.data !== undefined ? enveloped.data.data : json;
  const task = taskDataSchema.safeParse(candidate);
  // The new-standard API (3.0 Turbo) calls back with its own task shape.
  const standard = task.success ? undefined : standardTaskSchema.safeParse(candidate);
  if (standard?.success) return standardToKlingTask(standard.data);
  if (!task.success) {
    const issue = task.error.issues[0];
    throw new KlingCallbackError(
      `Kling callback is not a task: ${issue?.path.join('.') || 'body'} ${issue?.message ?? ''}`.trim(),
      'body',
    );
  }
  return toKlingTask(task.data);
}
