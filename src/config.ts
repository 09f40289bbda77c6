import { z } from 'zod';
import cron from 'node-cron';
import { isTimezone } from './budget/periods';

/** Raised when the environment cannot start the bot; its message is one line that names the variable. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

const optionalString = z
  .string()
  .trim()
  .transform((v) => (v === '' ? undefined : v))
  .optional();

const url = z.string().trim().url('must be a URL such as https://example.com');
const optionalUrl = optionalString.pipe(url.optional());
const positiveInt = (fallback: number) => z.coerce.number({ error: 'must be a whole number' }).int('must be a whole number').positive('must be at least 1').default(fallback);
const decimal = (fallback: string) =>
  z
    .string()
    .trim()
    .regex(/^\d+(\.\d{1,3})?$/, 'must be a number of credits such as 100 or 2.5')
    .default(fallback);

const timezone = z.string().trim().refine(isTimezone, 'must be an IANA time zone such as Europe/Berlin');

const schema = z
  .object({
    DATABASE_URL: optionalString.pipe(z.string().regex(/^postgres(ql)?:\/\//, 'must start with postgres://').optional()),
    DATA_DIR: z.string().default('./data'),
    SLACK_BOT_TOKEN: z.string({ error: 'is required (the xoxb- bot token from OAuth & Permissions)' }).trim().min(1, 'is required'),
    SLACK_SIGNING_SECRET: z.string({ error: 'is required (the signing secret from Basic Information)' }).trim().min(1, 'is required'),
    SLACK_APP_TOKEN: optionalString.pipe(z.string().startsWith('xapp-', 'must be an app-level token starting with xapp-').optional()),
    SLACK_API_URL: optionalUrl,
    KLING_API_KEY: optionalString,
    KLING_ACCESS_KEY: optionalString,
    KLING_SECRET_KEY: optionalString,
    KLING_API_BASE_URL: url.default('https://api-singapore.klingai.com'),
    KLING_WEBHOOK_SECRET: optionalString,
    KLING_MAX_CONCURRENCY: positiveInt(3),
    KLING_TASK_TIMEOUT_MINUTES: positiveInt(30),
    MAX_QUEUED_PER_USER: positiveInt(10),
    /** Stable per replica (e.g. the pod name) so a restarted replica takes back its own jobs without waiting out their lease. */
    WORKER_ID: optionalString,
    PORT: z.coerce.number({ error: 'must be a port number' }).int('must be a whole number').min(0).max(65535, 'must be a port number').default(3000),
    ADMIN_USER_IDS: z
      .string()
      .default('')
      .transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean)),
    ALERT_CHANNEL_ID: optionalString,
    DIGEST_CHANNEL_ID: optionalString,
    DEFAULT_DAILY_LIMIT: decimal('100'),
    DEFAULT_MODEL: z.string().trim().min(1).default('kling-v2-5-turbo'),
    CONFIRM_THRESHOLD: optionalString.pipe(decimal('0').optional()),
    TIMEZONE: timezone.default('UTC'),
    DIGEST_CRON: z
      .string()
      .trim()
      .default('0 9 * * *')
      .refine((expr) => cron.validate(expr), 'must be a cron expression such as "0 9 * * *"'),
    PUBLIC_URL: optionalUrl,
    PRICING_FILE: optionalString,
    /** Alert when the Kling packs run out within this many days at the current pace (admins change it in Slack). */
    PACK_ALERT_DAYS: z.coerce.number({ error: 'must be a whole number of days' }).int('must be a whole number of days').min(0).max(365).default(3),
    CREDIT_PRICE_USD: z.coerce.number({ error: 'must be a dollar amount such as 0.14' }).positive('must be a positive dollar amount').default(0.14),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  })
  .superRefine((env, ctx) => {
    const pair = Boolean(env.KLING_ACCESS_KEY) && Boolean(env.KLING_SECRET_KEY);
    if (!env.KLING_API_KEY && !pair) {
      const missing = env.KLING_ACCESS_KEY ? 'KLING_SECRET_KEY' : env.KLING_SECRET_KEY ? 'KLING_ACCESS_KEY' : 'KLING_API_KEY';
      ctx.addIssue({ code: 'custom', path: [missing], message: 'is required (set KLING_API_KEY, or KLING_ACCESS_KEY and KLING_SECRET_KEY)' });
    }
  });

export type Config = z.infer<typeof schema>;

export type KlingAuth = { apiKey: string } | { accessKey: string; secretKey: string };

export function klingAuth(config: Config): KlingAuth {
  if (config.KLING_API_KEY) return { apiKey: config.KLING_API_KEY };
  return { accessKey: config.KLING_ACCESS_KEY!, secretKey: config.KLING_SECRET_KEY! };
}

/** Parses the environment once. The error names the first bad variable and never echoes its value. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = schema.safeParse(env);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const name = String(issue.path[0] ?? 'environment');
  const message = issue.code === 'invalid_type' && env[name] === undefined && !issue.message.startsWith('is required')
    ? 'is required'
    : issue.message;
  throw new ConfigError(`Configuration error: ${name} ${message}`);
}
