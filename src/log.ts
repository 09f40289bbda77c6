import pino, { type Logger } from 'pino';

export type { Logger };

/** Paths that may carry a secret anywhere in a logged object; pino replaces them before anything is written. */
const REDACT = [
  'token',
  '*.token',
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'secret',
  '*.secret',
  'secretKey',
  '*.secretKey',
  'apiKey',
  '*.apiKey',
  'signingSecret',
  '*.signingSecret',
  'SLACK_BOT_TOKEN',
  'SLACK_SIGNING_SECRET',
  'SLACK_APP_TOKEN',
  'KLING_API_KEY',
  'KLING_SECRET_KEY',
  'KLING_WEBHOOK_SECRET',
];

export function createLogger(level = 'info', name = 'kling-budget-bot'): Logger {
  return pino({ name, level, redact: { paths: REDACT, censor: '[redacted]' } });
}

/**
 * A warning written at most once per `intervalMs`; the next one says how many were left out in between, so a
 * flood of bad requests writes a line every few seconds, not a file.
 */
export function throttledWarn(
  logger: Logger,
  message: string,
  intervalMs = 10_000,
  now = Date.now,
): (fields: Record<string, unknown>) => void {
  let lastAt = -Infinity;
  let suppressed = 0;
  return (fields) => {
    if (now() - lastAt < intervalMs) {
      suppressed += 1;
      return;
    }
    logger.warn({ ...fields, ...(suppressed > 0 && { suppressed }) }, message);
    lastAt = now();
    suppressed = 0;
  };
}
