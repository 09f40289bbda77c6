import { z } from 'zod';
import cron from 'node-cron';
import { isTimezone } from './budget/periods';

/** Start-up stopped for a reason the person starting the bot can fix: its message is shown alone, without a stack. */
export class StartupError extends Error {
  override name = 'StartupError';
}

/** The environment cannot start the bot: the message names every bad variable, one a line, never its value. */
export class ConfigError extends StartupError {
  override name = 'ConfigError';
}

const optionalString = z
  .string()
  .trim()
  .transform((v) => (v === '' ? undefined : v))
  .optional();

const url = z.string().trim().url('must be a URL such as https://example.com');
const optionalUrl = optionalString.pipe(url.optional());
const wholeNumber = z.coerce
  .number<string | undefined>({ error: 'must be a whole number' })
  .int('must be a whole number')
  .positive('must be at least 1');
const positiveInt = (fallback: number) => wholeNumber.default(fallback);
const decimal = (fallback: string) =>
  z
    .string()
    .trim()
    .regex(/^\d+(\.\d{1,3})?$/, 'must be a number of credits such as 100 or 2.5')
    .default(fallback);

/** Slack ids: what the channel details' About tab (channels) or a profile's "Copy member ID" (people) show. */
const CHANNEL_ID = /^[CGD][A-Z0-9]+$/;
const USER_ID = /^[UW][A-Z0-9]+$/;
const channelId = optionalString.pipe(
  z
    .string()
    .regex(CHANNEL_ID, 'must be a channel id such as C0123ABCDEF, not its name (channel details, About tab)')
    .optional(),
);

const timezone = z.string().trim().refine(isTimezone, 'must be an IANA time zone such as Europe/Berlin');

const schema = z.object({
  DATABASE_URL: optionalString.pipe(
    z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must start with postgres://')
      .optional(),
  ),
  DATA_DIR: z.string().default('./data'),
  SLACK_BOT_TOKEN: z
    .string({ error: 'is required: the Bot User OAuth Token from OAuth & Permissions, such as xoxb-1234-5678-AbCd' })
    .trim()
    .regex(
      /^xoxb-[0-9A-Za-z-]+$/,
      'must be the Bot User OAuth Token from OAuth & Permissions, such as xoxb-1234-5678-AbCd',
    ),
  SLACK_SIGNING_SECRET: z
    .string({ error: 'is required: the Signing Secret from Basic Information, 32 hexadecimal characters' })
    .trim()
    .regex(/^[0-9a-f]{16,}$/i, 'must be the Signing Secret from Basic Information, 32 hexadecimal characters'),
  SLACK_APP_TOKEN: optionalString.pipe(
    z
      .string()
      .regex(/^xapp-[0-9A-Za-z-]+$/, 'must be an app-level token such as xapp-1-A0123-4567-abcd (Basic Information)')
      .optional(),
  ),
  SLACK_API_URL: optionalUrl,
  /** Finished videos up to this size are uploaded into the job card's thread; larger ones are linked. */
  SLACK_UPLOAD_MAX_MB: positiveInt(100),
  KLING_API_KEY: optionalString,
  KLING_ACCESS_KEY: optionalString,
  KLING_SECRET_KEY: optionalString,
  KLING_API_BASE_URL: url.default('https://api-singapore.klingai.com'),
  KLING_WEBHOOK_SECRET: optionalString,
  KLING_MAX_CONCURRENCY: positiveInt(3),
  /** Kling limits concurrency per account (all its keys together); unset, it is KLING_MAX_CONCURRENCY. */
  KLING_ACCOUNT_CONCURRENCY: optionalString.pipe(wholeNumber.optional()),
  KLING_TASK_TIMEOUT_MINUTES: positiveInt(30),
  MAX_QUEUED_PER_USER: positiveInt(10),
  /** Stable per replica (e.g. the pod name) so a restarted replica takes back its own jobs without waiting out their lease. */
  WORKER_ID: optionalString,
  PORT: z.coerce
    .number({ error: 'must be a port number such as 3000' })
    .int('must be a whole number')
    .min(0)
    .max(65535, 'must be a port number such as 3000')
    .default(3000),
  ADMIN_USER_IDS: z
    .string()
    .default('')
    .transform((v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    )
    .refine(
      (ids) => ids.every((id) => USER_ID.test(id)),
      'must be member ids separated by commas, such as U0123ABC,U0456DEF',
    ),
  ALERT_CHANNEL_ID: channelId,
  DIGEST_CHANNEL_ID: channelId,
  DEFAULT_DAILY_LIMIT: decimal('100'),
  DEFAULT_MODEL: z.string().trim().min(1).default('kling-v2-5-turbo'),
  CONFIRM_THRESHOLD: optionalString.pipe(decimal('0').optional()),
  /** A person's or channel's day is a spike above this many times their usual day (a workspace can change it). */
  SPIKE_FACTOR: z.coerce.number({ error: 'must be a number such as 3' }).gt(1, 'must be more than 1').default(3),
  /** …and above this many credits. */
  SPIKE_MIN_CREDITS: decimal('20'),
  TIMEZONE: timezone.default('UTC'),
  DIGEST_CRON: z
    .string()
    .trim()
    .default('0 9 * * *')
    .refine((expr) => cron.validate(expr), 'must be a cron expression such as "0 9 * * *"'),
  PUBLIC_URL: optionalUrl,
  PRICING_FILE: optionalString,
  /** Alert when the Kling packs run out within this many days at the current pace (admins change it in Slack). */
  PACK_ALERT_DAYS: z.coerce
    .number({ error: 'must be a whole number of days' })
    .int('must be a whole number of days')
    .min(0)
    .max(365)
    .default(3),
  CREDIT_PRICE_USD: z.coerce
    .number({ error: 'must be a dollar amount such as 0.14' })
    .positive('must be a positive dollar amount')
    .default(0.14),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type Config = z.infer<typeof schema>;

export type KlingAuth = { apiKey: string } | { accessKey: string; secretKey: string };

export function klingAuth(config: Config): KlingAuth {
  if (config.KLING_API_KEY) return { apiKey: config.KLING_API_KEY };
  return { accessKey: config.KLING_ACCESS_KEY!, secretKey: config.KLING_SECRET_KEY! };
}

/** Kling takes one API key, or an access key and secret key together. */
function klingKeyProblems(env: NodeJS.ProcessEnv): [string, string][] {
  const set = (name: string) => Boolean(env[name]?.trim());
  if (set('KLING_ACCESS_KEY') !== set('KLING_SECRET_KEY')) {
    const missing = set('KLING_ACCESS_KEY') ? 'KLING_SECRET_KEY' : 'KLING_ACCESS_KEY';
    return [[missing, 'is required with its pair: set both KLING_ACCESS_KEY and KLING_SECRET_KEY, or neither']];
  }
  if (!set('KLING_API_KEY') && !set('KLING_ACCESS_KEY')) {
    return [['KLING_API_KEY', 'is required: set KLING_API_KEY, or KLING_ACCESS_KEY and KLING_SECRET_KEY']];
  }
  return [];
}

/**
 * Parses the environment once. The error names every bad or missing variable at once, one a line with what a good
 * value looks like, and never echoes a value.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = schema.safeParse(env);
  const problems = new Map<string, string>();
  for (const issue of parsed.error?.issues ?? []) {
    const name = String(issue.path[0] ?? 'environment');
    // A missing variable whose check has no "is required" message of its own is simply required.
    const bare = issue.code === 'invalid_type' && env[name] === undefined && !issue.message.startsWith('is required');
    if (!problems.has(name)) problems.set(name, bare ? 'is required' : issue.message);
  }
  for (const [name, message] of klingKeyProblems(env)) if (!problems.has(name)) problems.set(name, message);
  if (parsed.success && problems.size === 0) return parsed.data;
  const width = Math.max(...[...problems.keys()].map((name) => name.length));
  const lines = [...problems].map(([name, message]) => `${name.padEnd(width)} ${message}`);
  if (lines.length === 1) throw new ConfigError(`Configuration error: ${lines[0]}`);
  const block = [`Configuration error: ${lines.length} variables need fixing`, ...lines.map((line) => `  ${line}`)];
  throw new ConfigError(block.join('\n'));
}
