import pino, { type Logger } from 'pino';

export type { Logger };

/** Paths that may carry a secret anywhere in a logged object; pino replaces them before anything is written. */
const REDACT = [
  'token', '*.token', 'authorization', '*.authorization', 'headers.authorization', '*.headers.authorization',
  'secret', '*.secret', 'secretKey', '*.secretKey', 'apiKey', '*.apiKey', 'signingSecret', '*.signingSecret',
  'SLACK_BOT_TOKEN', 'SLACK_SIGNING_SECRET', 'SLACK_APP_TOKEN', 'KLING_API_KEY', 'KLING_SECRET_KEY', 'KLING_WEBHOOK_SECRET',
];

export function createLogger(level = 'info', name = 'kling-budget-bot'): Logger {
  return pino({ name, level, redact: { paths: REDACT, censor: '[redacted]' } });
}
