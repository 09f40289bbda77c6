import { describe, expect, it } from 'vitest';
import { ConfigError, klingAuth, loadConfig } from '../src/config';

const base = {
  SLACK_BOT_TOKEN: 'xoxb-7777-base',
  SLACK_SIGNING_SECRET: '8f742231b10e8888abcd99eeeeee85a5',
  KLING_API_KEY: 'kling-key-secret',
};
const SECRETS = Object.values(base);

function refusal(env: Record<string, string | undefined>): string {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('accepted');
}

describe('loadConfig', () => {
  it('applies the design defaults', () => {
    const config = loadConfig(base);
    expect(config).toMatchObject({
      PORT: 3000,
      KLING_MAX_CONCURRENCY: 3,
      DEFAULT_MODEL: 'kling-v2-5-turbo',
      TIMEZONE: 'UTC',
      DIGEST_CRON: '0 9 * * *',
      CREDIT_PRICE_USD: 0.14,
    });
    expect(config.KLING_API_BASE_URL).toBe('https://api-singapore.klingai.com');
    expect(klingAuth(config)).toEqual({ apiKey: 'kling-key-secret' });
  });

  it('reads the account-wide Kling concurrency; unset, it is left to the per-workspace one', () => {
    expect(loadConfig(base).KLING_ACCOUNT_CONCURRENCY).toBeUndefined();
    expect(loadConfig({ ...base, KLING_ACCOUNT_CONCURRENCY: ' 20 ' }).KLING_ACCOUNT_CONCURRENCY).toBe(20);
  });

  it('parses admin ids and the key pair', () => {
    const config = loadConfig({
      ...base,
      KLING_API_KEY: '',
      KLING_ACCESS_KEY: 'ak',
      KLING_SECRET_KEY: 'sk',
      ADMIN_USER_IDS: 'U1, U2,,',
    });
    expect(config.ADMIN_USER_IDS).toEqual(['U1', 'U2']);
    expect(klingAuth(config)).toEqual({ accessKey: 'ak', secretKey: 'sk' });
  });

  it.each([
    [{ SLACK_BOT_TOKEN: undefined }, 'SLACK_BOT_TOKEN is required'],
    [{ SLACK_SIGNING_SECRET: undefined }, 'SLACK_SIGNING_SECRET is required'],
    [{ KLING_API_KEY: undefined, KLING_ACCESS_KEY: 'ak' }, 'KLING_SECRET_KEY is required'],
    [{ KLING_ACCESS_KEY: 'ak' }, 'KLING_SECRET_KEY is required with its pair'],
    [
      { SLACK_BOT_TOKEN: 'abc123' },
      'SLACK_BOT_TOKEN must be the Bot User OAuth Token from OAuth & Permissions, such as xoxb-',
    ],
    [{ SLACK_BOT_TOKEN: 'xoxp-1234-5678-abcd' }, 'SLACK_BOT_TOKEN must be the Bot User OAuth Token'],
    [{ SLACK_BOT_TOKEN: 'xoxb-1-2 3' }, 'SLACK_BOT_TOKEN must be the Bot User OAuth Token'],
    [
      { SLACK_SIGNING_SECRET: 'shh-signing' },
      'SLACK_SIGNING_SECRET must be the Signing Secret from Basic Information, 32 hex',
    ],
    [{ ALERT_CHANNEL_ID: 'kling-alerts' }, 'ALERT_CHANNEL_ID must be a channel id such as C0123ABCDEF, not its name'],
    [{ DIGEST_CHANNEL_ID: '#general' }, 'DIGEST_CHANNEL_ID must be a channel id'],
    [{ ADMIN_USER_IDS: 'U0ADA,grace' }, 'ADMIN_USER_IDS must be member ids separated by commas'],
    [{ PORT: 'eighty' }, 'PORT must be a port number such as 3000'],
    [{ KLING_MAX_CONCURRENCY: '0' }, 'KLING_MAX_CONCURRENCY must be at least 1'],
    [{ KLING_ACCOUNT_CONCURRENCY: 'ten' }, 'KLING_ACCOUNT_CONCURRENCY must be a whole number'],
    [{ TIMEZONE: 'Mars/Olympus' }, 'TIMEZONE must be an IANA time zone'],
    [{ DIGEST_CRON: 'every morning' }, 'DIGEST_CRON must be a cron expression'],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL must start with postgres://'],
    [{ SLACK_APP_TOKEN: 'xoxb-wrong' }, 'SLACK_APP_TOKEN must be an app-level token'],
    [{ DEFAULT_DAILY_LIMIT: 'lots' }, 'DEFAULT_DAILY_LIMIT must be a number of credits'],
  ])('refuses %o with one line naming the variable', (patch, expected) => {
    const message = refusal({ ...base, ...patch });
    expect(message).toContain(`Configuration error: ${expected}`);
    expect(message).not.toContain('\n');
    for (const secret of SECRETS) expect(message).not.toContain(secret);
  });

  it('accepts Slack ids and keeps a key pair whole', () => {
    const config = loadConfig({
      ...base,
      ALERT_CHANNEL_ID: 'C0ALERTS',
      DIGEST_CHANNEL_ID: 'G0PRIVATE',
      ADMIN_USER_IDS: 'U0ADA,W0GRACE',
    });
    expect([config.ALERT_CHANNEL_ID, config.DIGEST_CHANNEL_ID, config.ADMIN_USER_IDS]).toEqual([
      'C0ALERTS',
      'G0PRIVATE',
      ['U0ADA', 'W0GRACE'],
    ]);
  });

  it('names every missing and malformed variable at once, one a line, without their values', () => {
    const message = refusal({
      SLACK_BOT_TOKEN: 'xoxp-9999-secret-user-token',
      ALERT_CHANNEL_ID: 'kling-alerts',
      KLING_ACCESS_KEY: 'ak-secret',
      PORT: 'eighty',
    });
    const lines = message.split('\n');
    expect(lines[0]).toBe('Configuration error: 5 variables need fixing');
    expect(lines.slice(1).map((line) => line.trim().split(' ')[0])).toEqual([
      'SLACK_BOT_TOKEN',
      'SLACK_SIGNING_SECRET',
      'PORT',
      'ALERT_CHANNEL_ID',
      'KLING_SECRET_KEY',
    ]);
    expect(lines[2]).toContain('SLACK_SIGNING_SECRET is required: the Signing Secret from Basic Information');
    for (const value of ['xoxp-9999', 'secret-user-token', 'kling-alerts', 'ak-secret', 'eighty'])
      expect(message).not.toContain(value);
  });
});
