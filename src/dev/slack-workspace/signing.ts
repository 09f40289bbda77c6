import { createHmac } from 'node:crypto';

/**
 * The headers Slack sends with every request to an app: v0 HMAC-SHA256 of `v0:<timestamp>:<raw body>`
 * keyed with the signing secret. `timestamp` is in Unix seconds (default now).
 */
export function signSlackRequest(
  secret: string,
  body: string,
  timestamp: number = Math.floor(Date.now() / 1000),
): Record<string, string> {
  const signature = `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
  return { 'x-slack-request-timestamp': String(timestamp), 'x-slack-signature': signature };
}
