import { describe, expect, it } from 'vitest';
import { ConfigError, klingAuth, loadConfig } from '../src/config';

const base = { SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 'shh-signing', KLING_API_KEY: 'kling-key-secret' };

describe('loadConfig', () => {
  it('applies the design defaults', () => {
    const config = loadConfig(base);
    expect(config).toMatchObject({ PORT: 3000, KLING_MAX_CONCURRENCY: 3, DEFAULT_MODEL: 'kling-v2-5-turbo', TIMEZONE: 'UTC', DIGEST_CRON: '0 9 * * *', CREDIT_PRICE_USD: 0.14 });
    expect(config.KLING_API_BASE_URL).toBe('https://api-singapore.klingai.com');
    expect(klingAuth(config)).toEqual({ apiKey: 'kling-key-secret' });
  });

  it('reads the account-wide Kling concurrency; unset, it is left to the per-workspace one', () => {
    expect(loadConfig(base).KLING_ACCOUNT_CONCURRENCY).toBeUndefined();
    expect(loadConfig({ ...base, KLING_ACCOUNT_CONCURRENCY: ' 20 ' }).KLING_ACCOUNT_CONCURRENCY).toBe(20);
  });

  it('parses admin ids and the key pair', () => {
    const config = loadConfig({ ...base, KLING_API_KEY: '', KLING_ACCESS_KEY: 'ak', KLING_SECRET_KEY: 'sk', ADMIN_USER_IDS: 'U1, U2,,' });
    expect(config.ADMIN_USER_IDS).toEqual(['U1', 'U2']);
    expect(klingAuth(config)).toEqual({ accessKey: 'ak', secretKey: 'sk' });
  });

  it.each([
    [{ SLACK_BOT_TOKEN: undefined }, 'SLACK_BOT_TOKEN is required'],
    [{ SLACK_SIGNING_SECRET: undefined }, 'SLACK_SIGNING_SECRET is required'],
    [{ KLING_API_KEY: undefined, KLING_ACCESS_KEY: 'ak' }, 'KLING_SECRET_KEY is required'],
    [{ PORT: 'eighty' }, 'PORT must be a port number'],
    [{ KLING_MAX_CONCURRENCY: '0' }, 'KLING_MAX_CONCURRENCY must be at least 1'],
    [{ KLING_ACCOUNT_CONCURRENCY: 'ten' }, 'KLING_ACCOUNT_CONCURRENCY must be a whole number'],
    [{ TIMEZONE: 'Mars/Olympus' }, 'TIMEZONE must be an IANA time zone'],
    [{ DIGEST_CRON: 'every morning' }, 'DIGEST_CRON must be a cron expression'],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL must start with postgres://'],
    [{ SLACK_APP_TOKEN: 'xoxb-wrong' }, 'SLACK_APP_TOKEN must be an app-level token'],
    [{ DEFAULT_DAILY_LIMIT: 'lots' }, 'DEFAULT_DAILY_LIMIT must be a number of credits'],
  ])('refuses %o with one line naming the variable', (patch, expected) => {
    const env = { ...base, ...patch } as Record<string, string | undefined>;
    let error: unknown;
    try {
      loadConfig(env);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).toContain(expected);
    expect(message).not.toContain('\n');
    for (const secret of ['xoxb-1', 'shh-signing', 'kling-key-secret']) expect(message).not.toContain(secret);
  });
});
