import { LogLevel, type Logger as BoltLogger } from '@slack/bolt';
import type { Logger } from '../log';

/**
 * Bolt's messages are flattened to text, which pino's path redaction cannot see into; at debug level Socket
 * Mode logs raw payloads carrying the verification token and a response_url that can post for 30 minutes.
 */
const SECRET_FIELDS = /"(token|response_url|bot_access_token|app_token)"\s*:\s*"[^"]*"/g;

/** Bolt logs through our pino logger, structured like ours, with secret payload fields masked. */
export function boltLogger(logger: Logger): BoltLogger {
  const child = logger.child({ module: 'bolt' });
  const text = (msg: unknown[]) =>
    msg
      .map((m) => (typeof m === 'string' ? m : m instanceof Error ? m.message : JSON.stringify(m)))
      .join(' ')
      .replace(SECRET_FIELDS, '"$1":"[redacted]"');
  // Bolt logs at debug on every request; a level that is off must cost nothing (no flattening, no masking).
  const at =
    (level: 'debug' | 'info' | 'warn' | 'error') =>
    (...msg: unknown[]) => {
      if (child.isLevelEnabled(level)) child[level](text(msg));
    };
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    // The level is pino's (LOG_LEVEL); Bolt's own setting is ignored.
    setLevel: () => {},
    getLevel: () =>
      ['debug', 'trace'].includes(child.level)
        ? LogLevel.DEBUG
        : child.level === 'info'
          ? LogLevel.INFO
          : child.level === 'warn'
            ? LogLevel.WARN
            : LogLevel.ERROR,
    setName: () => {},
  };
}
