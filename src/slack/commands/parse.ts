import { z } from 'zod';
import type { Millicredits } from '../../money/credits';
import { decodeSlackText } from '../escape';
import { MAX_PROMPT_CHARS, promptLength } from '../../pricing';
import type { ExportGrouping } from '../../export';
import type { BudgetPeriodKind } from '../../budget';
import { isLocalDate, type LocalDate, type ReportPeriod } from '../../budget/periods';
import { TAG_PATTERN } from '../../budget/tags';
import { readCredits, readThresholds } from './amounts';

/**
 * The `/kling` grammar (`/kling help` and the README list it). Text arrives in Slack's escaped wire form; flags may come in any
 * order, values may be quoted ("…" or “…”), and a phone's em dash (—mode) counts as `--mode`.
 * Parsing knows no prices: checking a request against the catalog is `request.ts`.
 */

export const USAGE = {
  generate:
    '/kling generate <prompt> [--model M] [--mode std|pro|4k] [--duration N] [--audio] [--aspect 16:9|9:16|1:1] [--negative "..."] [--image URL or Slack file link] [--video URL] [--multishot] [--draft] [--tag project]',
  estimate: '/kling estimate [prompt] [the same flags as generate]',
  image: '/kling image <prompt> [--model M] [--n 1-9] [--aspect 16:9|9:16|1:1|4:3|3:4|3:2|2:3|21:9]',
  batch: '/kling batch [--tag project]',
  budget: '/kling budget [today|yesterday|week|last-week|month|last-month|YYYY-MM-DD]',
  budgetSet: '/kling budget set <workspace|#channel|@user|tag:name> <day|week|month> <credits>',
  budgetThresholds: '/kling budget thresholds <workspace|#channel|@user> <day|week|month> <percent,percent,…>',
  budgetAlerts: '/kling budget alerts <#channel>',
  budgetConfirm: '/kling budget confirm <credits|off>',
  budgetForecast: '/kling budget forecast on|off',
  budgetSpikes: '/kling budget spikes <factor> <min-credits>|off',
  budgetTimezone: '/kling budget timezone <IANA zone such as Europe/Berlin>',
  history: '/kling history',
  status: '/kling status [id]',
  queue: '/kling queue resume',
  cancel: '/kling cancel <id>',
  help: '/kling help',
  digest: '/kling digest now|preview [today|YYYY-MM-DD]',
  audit: '/kling audit [today|yesterday|week|last-week|month|last-month|YYYY-MM|YYYY-MM-DD|YYYY-MM-DD..YYYY-MM-DD]',
  export:
    '/kling export [today|yesterday|week|last-week|month|last-month|YYYY-MM|YYYY-MM-DD|YYYY-MM-DD..YYYY-MM-DD] ' +
    '[--by job|person|channel|tag|model] [--format csv|focus]',
  account: '/kling account',
  accountAlerts: '/kling account alerts <days>|off · /kling account expiry <days>|off',
  accountReconcile: '/kling account reconcile <credits>|off',
} as const;

export type UsageKey = keyof typeof USAGE;

/** A mistake in what the person typed: `message` names the wrong part, `usage` shows the right form. */
export class UsageError extends Error {
  override name = 'UsageError';
  constructor(
    message: string,
    readonly usage: UsageKey | 'all' = 'all',
  ) {
    super(message);
  }
}

export interface GenerateFlags {
  model?: string;
  mode?: 'std' | 'pro' | '4k';
  duration?: number;
  audio: boolean;
  aspect?: '16:9' | '9:16' | '1:1';
  negative?: string;
  image?: string;
  /** A reference video for the omni models (kling-v3-omni, kling-video-o1). */
  video?: string;
  /** Kling cuts the prompt into shots (3.x models). */
  multishot?: boolean;
  draft: boolean;
  /** The project the video is charged to. */
  tag?: string;
}

/** Kling's image shapes. */
const IMAGE_ASPECTS = ['16:9', '9:16', '1:1', '4:3', '3:4', '3:2', '2:3', '21:9'] as const;

export interface ImageFlags {
  model?: string;
  /** Images made at once (Kling bills each). */
  n?: number;
  aspect?: (typeof IMAGE_ASPECTS)[number];
}

/** Whose budget a command names: the workspace's (its team id is known later), a channel's, a person's or a tag's. */
export type BudgetOwner = { scope: 'workspace' } | { scope: 'channel' | 'user' | 'tag'; id: string };

export type Command =
  | { kind: 'generate' | 'estimate'; prompt: string; flags: GenerateFlags }
  | { kind: 'image'; prompt: string; flags: ImageFlags }
  | { kind: 'history' | 'help' }
  /** Without a period: the current ones. */
  | { kind: 'budget'; period?: ReportPeriod }
  | { kind: 'batch'; tag?: string }
  | { kind: 'budget-set'; target: BudgetOwner; period: BudgetPeriodKind; limitMc: Millicredits }
  | { kind: 'budget-thresholds'; target: BudgetOwner; period: BudgetPeriodKind; thresholds: number[] }
  | { kind: 'budget-alerts'; channelId: string }
  /** null: nobody is asked to confirm. */
  | { kind: 'budget-confirm'; thresholdMc: Millicredits | null }
  | { kind: 'budget-forecast'; on: boolean }
  /** null: no spike alerts. */
  | { kind: 'budget-spikes'; spikes: { factor: number; minMc: Millicredits } | null }
  /** Checked against the IANA database by the ledger. */
  | { kind: 'budget-timezone'; timezone: string }
  /** Without an id: the workspace's queue (running, or paused and why). */
  | { kind: 'status'; id?: string }
  | { kind: 'cancel'; id: string }
  | { kind: 'queue-resume' }
  | { kind: 'digest'; action: 'now' }
  /** `day`: 'today' (so far) or a YYYY-MM-DD date; without it, yesterday. */
  | { kind: 'digest'; action: 'preview'; day?: string }
  | { kind: 'audit'; period: ReportPeriod }
  | { kind: 'export'; period: ReportPeriod; by: ExportGrouping; format: 'csv' | 'focus' }
  | { kind: 'account' }
  /** days 0: the alert is off. */
  | { kind: 'account-alerts'; alert: 'runout' | 'expiry'; days: number }
  /** null: the daily reconciliation's alerts are off. */
  | { kind: 'account-reconcile'; toleranceMc: Millicredits | null };

/** Kling's prompt limit, as the pricing catalog checks it. */
export const PROMPT_LIMIT = MAX_PROMPT_CHARS;

interface Token {
  value: string;
  quoted: boolean;
  start: number;
  end: number;
}

const CLOSING: Record<string, string> = { '"': '"', '“': '”', '„': '“' };

/** Splits on whitespace; a token that opens with a quote runs to its closing quote; `<…>` is never split. */
export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    if (/\s/.test(text[i]!)) {
      i++;
      continue;
    }
    const start = i;
    const close = CLOSING[text[i]!];
    if (close) {
      const end = [close, '"', '”']
        .map((q) => text.indexOf(q, i + 1))
        .filter((n) => n >= 0)
        .sort((a, b) => a - b)[0];
      if (end === undefined)
        throw new UsageError(`The quote before \`${excerpt(text.slice(i + 1))}\` is never closed.`);
      tokens.push({ value: text.slice(i + 1, end), quoted: true, start, end: end + 1 });
      i = end + 1;
      continue;
    }
    while (i < text.length && !/\s/.test(text[i]!)) {
      if (text[i] === '<') {
        const end = text.indexOf('>', i);
        i = end < 0 ? text.length : end + 1;
      } else i++;
    }
    tokens.push({ value: text.slice(start, i), quoted: false, start, end: i });
  }
  return tokens;
}

/** A short, decoded quote of what the person typed, for a mistake message (the builder escapes it). */
function excerpt(text: string): string {
  const decoded = decodeSlackText(text);
  const chars = [...decoded];
  return chars.length > 20 ? `${chars.slice(0, 20).join('')}…` : decoded;
}

const FLAG = /^(?:--|—|–)([a-z][a-z-]*)(?:=(.*))?$/is;
const BOOLEAN_FLAGS = ['audio', 'draft', 'multishot'] as const;
const VALUE_FLAGS = ['model', 'mode', 'duration', 'aspect', 'negative', 'image', 'video', 'tag'] as const;
export const TAG_RULE = 'must be lowercase letters, digits and dashes, at most 32, such as spring-launch';
const IMAGE_FLAGS = ['model', 'n', 'aspect'] as const;

const modelFlag = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]*$/i, 'is not a model name such as kling-v2-6')
  .optional();
const imageFlagSchema = z.object({
  model: modelFlag,
  n: z
    .string()
    .regex(/^[1-9]$/, 'must be a number of images from 1 to 9')
    .transform(Number)
    .optional(),
  aspect: z.enum(IMAGE_ASPECTS, `must be ${IMAGE_ASPECTS.join(', ')}`).optional(),
});

const flagSchema = z.object({
  model: modelFlag,
  mode: z.enum(['std', 'pro', '4k'], 'must be std, pro or 4k').optional(),
  duration: z
    .string()
    .regex(/^\d{1,3}$/, 'must be a whole number of seconds such as 5 or 10')
    .transform(Number)
    .optional(),
  aspect: z.enum(['16:9', '9:16', '1:1'], 'must be 16:9, 9:16 or 1:1').optional(),
  negative: z
    .string()
    .refine((s) => s.trim() !== '', 'needs some text, in quotes: --negative "blurry, text"')
    .refine((s) => promptLength(s) <= PROMPT_LIMIT, `must be at most ${PROMPT_LIMIT} characters`)
    .optional(),
  image: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL of the image' }).optional(),
  video: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL of the reference video' }).optional(),
  audio: z.boolean(),
  multishot: z.boolean(),
  draft: z.boolean(),
  tag: z.string().regex(TAG_PATTERN, TAG_RULE).optional(),
});

/** `generate` / `estimate` / `image`: the prompt is every token that is neither a flag nor a flag's value. */
function parseRequest(kind: 'generate' | 'estimate' | 'image', text: string, tokens: Token[]): Command {
  const image = kind === 'image';
  const values: Record<string, unknown> = image ? {} : { audio: false, draft: false, multishot: false };
  const booleans: readonly string[] = image ? [] : BOOLEAN_FLAGS;
  const valued: readonly string[] = image ? IMAGE_FLAGS : VALUE_FLAGS;
  const seen = new Set<string>();
  const promptRuns: { start: number; end: number; quoted: boolean; value: string }[][] = [[]];
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    const match = token.quoted ? null : FLAG.exec(token.value);
    if (!match) {
      promptRuns.at(-1)!.push(token);
      continue;
    }
    if (promptRuns.at(-1)!.length) promptRuns.push([]);
    const name = match[1]!.toLowerCase();
    if (seen.has(name)) throw new UsageError(`\`--${name}\` is given twice.`, kind);
    seen.add(name);
    if (booleans.includes(name)) {
      if (match[2] !== undefined) throw new UsageError(`\`--${name}\` takes no value.`, kind);
      values[name] = true;
    } else if (valued.includes(name)) {
      let value = match[2];
      if (value === undefined) {
        const next = tokens[i + 1];
        if (!next || (!next.quoted && FLAG.test(next.value)))
          throw new UsageError(`\`--${name}\` needs a value.`, kind);
        value = next.value;
        i++;
      }
      values[name] = decodeSlackText(value);
    } else {
      throw new UsageError(`\`${excerpt(token.value)}\` is not an option of ${kind}.`, kind);
    }
  }
  const parsed = (image ? imageFlagSchema : flagSchema).safeParse(values);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const flag = String(issue.path[0]);
    throw new UsageError(`\`--${flag}\` ${issue.message}.`, kind);
  }
  const prompt = promptRuns
    .filter((run) => run.length)
    .map((run) => (run.length === 1 && run[0]!.quoted ? run[0]!.value : text.slice(run[0]!.start, run.at(-1)!.end)))
    .join(' ');
  const decoded = decodeSlackText(prompt).trim();
  if (!decoded && (image || (kind === 'generate' && !(parsed.data as GenerateFlags).image))) {
    throw new UsageError(`Say what the ${image ? 'image' : 'video'} should show: the prompt is missing.`, kind);
  }
  const length = promptLength(decoded);
  if (length > PROMPT_LIMIT)
    throw new UsageError(`The prompt is ${length} characters; Kling takes at most ${PROMPT_LIMIT}.`, kind);
  if (image) return { kind, prompt: decoded, flags: parsed.data as ImageFlags };
  return { kind, prompt: decoded, flags: parsed.data as GenerateFlags };
}

const USER = /^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$/;
const CHANNEL = /^<#([CGD][A-Z0-9]+)(?:\|[^>]*)?>$/;

/** `/kling batch [--tag name]`: the tag applies to every video of the batch. */
function parseBatch(tokens: Token[]): Command {
  if (!tokens.length) return { kind: 'batch' };
  const match = tokens[0]!.quoted ? null : FLAG.exec(tokens[0]!.value);
  if (match?.[1]?.toLowerCase() !== 'tag') {
    throw new UsageError(`\`${excerpt(tokens[0]!.value)}\` is not an option of batch.`, 'batch');
  }
  const value = match[2] ?? tokens[1]?.value;
  if (value === undefined) throw new UsageError('`--tag` needs a value.', 'batch');
  if (!TAG_PATTERN.test(value)) throw new UsageError(`\`--tag\` ${TAG_RULE}.`, 'batch');
  expectEnd(tokens, match[2] === undefined ? 2 : 1, 'batch');
  return { kind: 'batch', tag: value };
}

function parseTarget(token: Token | undefined, usage: UsageKey): BudgetOwner {
  const value = token?.value ?? '';
  if (value.toLowerCase() === 'workspace') return { scope: 'workspace' };
  if (value.toLowerCase().startsWith('tag:')) {
    const tag = value.slice(4);
    if (!TAG_PATTERN.test(tag)) throw new UsageError(`A tag ${TAG_RULE}.`, usage);
    return { scope: 'tag', id: tag };
  }
  const user = USER.exec(value);
  if (user) return { scope: 'user', id: user[1]! };
  const channel = CHANNEL.exec(value);
  if (channel) return { scope: 'channel', id: channel[1]! };
  throw new UsageError(
    value
      ? `\`${excerpt(value)}\` is not a budget: use workspace, a #channel, an @person ` +
          "(pick them from Slack's suggestions) or tag:name."
      : 'Say which budget: workspace, a #channel, an @person or tag:name.',
    usage,
  );
}

function parsePeriod(token: Token | undefined, usage: UsageKey): BudgetPeriodKind {
  const value = token?.value.toLowerCase();
  if (value === 'day' || value === 'week' || value === 'month') return value;
  throw new UsageError(
    value
      ? `\`${excerpt(token!.value)}\` is not a period: use day, week or month.`
      : 'Say which period: day, week or month.',
    usage,
  );
}

/** A non-negative number of credits, or a usage error saying `missing` when there is none. */
function parseAmount(token: Token | undefined, usage: UsageKey, missing: string): Millicredits {
  if (!token) throw new UsageError(missing, usage);
  const amount = readCredits(token.value);
  if (amount === undefined && /^\s*-/.test(token.value)) {
    throw new UsageError('An amount of credits cannot be below 0: say 0 or more (for example 200 or 12.5).', usage);
  }
  if (amount === undefined)
    throw new UsageError(`\`${excerpt(token.value)}\` is not a number of credits (for example 200 or 12.5).`, usage);
  return amount;
}

function parseThresholds(token: Token | undefined): number[] {
  const thresholds = token && readThresholds(token.value);
  if (!thresholds)
    throw new UsageError(
      'Thresholds are percents of the limit between 1 and 100, comma-separated, for example 50,80,100.',
      'budgetThresholds',
    );
  return thresholds;
}

function expectEnd(tokens: Token[], from: number, usage: UsageKey): void {
  const extra = tokens[from];
  if (extra) throw new UsageError(`\`${excerpt(extra.value)}\` is more than this command takes.`, usage);
}

const ID = /^#?[A-Za-z0-9_-]{1,64}$/; // a job's #short id, full id or a prefix

export function parseCommand(text: string): Command {
  const tokens = tokenize(text);
  const [first, ...rest] = tokens;
  const sub = first?.quoted ? undefined : first?.value.toLowerCase();
  switch (sub) {
    case undefined:
      if (first) break;
      return { kind: 'help' };
    case 'generate':
    case 'estimate':
    case 'image':
      return parseRequest(sub, text, rest);
    case 'batch':
      return parseBatch(rest);
    case 'history':
    case 'help':
      expectEnd(rest, 0, sub);
      return { kind: sub };
    case 'status':
    case 'cancel': {
      const id = rest[0]?.value;
      if (!id && sub === 'status') return { kind: 'status' };
      if (!id) throw new UsageError(`Say which job: \`${USAGE[sub]}\` (the id is on the job card).`, sub);
      if (!ID.test(id)) throw new UsageError(`\`${excerpt(id)}\` is not a job id (the id is on the job card).`, sub);
      expectEnd(rest, 1, sub);
      return { kind: sub, id };
    }
    case 'digest': {
      const action = rest[0]?.value.toLowerCase();
      if (action !== 'now' && action !== 'preview') {
        throw new UsageError(
          action ? `\`${excerpt(rest[0]!.value)}\` is not a digest action: use now or preview.` : 'Say now or preview.',
          'digest',
        );
      }
      if (action === 'preview' && rest[1]) {
        const day = rest[1].value.toLowerCase();
        if (day !== 'today' && !/^\d{4}-\d{2}-\d{2}$/.test(day)) {
          throw new UsageError(
            `\`${excerpt(rest[1].value)}\` is not a day: use today or a date like 2026-03-29.`,
            'digest',
          );
        }
        expectEnd(rest, 2, 'digest');
        return { kind: 'digest', action, day };
      }
      expectEnd(rest, 1, 'digest');
      return { kind: 'digest', action };
    }
    case 'budget':
      return parseBudget(rest);
    case 'export':
      return parseExport(rest);
    case 'audit':
      expectEnd(rest, 1, 'audit');
      return { kind: 'audit', period: rest[0] ? parseReportPeriod(rest[0].value, 'audit') : { kind: 'month' } };
    case 'queue': {
      const action = rest[0]?.value.toLowerCase();
      if (action !== 'resume') {
        const wrong = action ? `\`${excerpt(rest[0]!.value)}\` is not a queue action: use resume.` : 'Say resume.';
        throw new UsageError(wrong, 'queue');
      }
      expectEnd(rest, 1, 'queue');
      return { kind: 'queue-resume' };
    }
    case 'account':
      return parseAccount(rest);
  }
  throw new UsageError(`\`${excerpt(first!.value)}\` is not a /kling command.`);
}

/** `/kling budget <period>`: a word or one day; months and ranges are the export's. */
const BUDGET_PERIOD = /^(today|yesterday|week|last-week|month|last-month|\d{4}-\d{2}-\d{2})$/i;

function parseBudget(tokens: Token[]): Command {
  const action = tokens[0]?.value.toLowerCase();
  if (action && BUDGET_PERIOD.test(action)) {
    expectEnd(tokens, 1, 'budget');
    return { kind: 'budget', period: parseReportPeriod(action, 'budget') };
  }
  switch (action) {
    case undefined:
      return { kind: 'budget' };
    case 'set': {
      const target = parseTarget(tokens[1], 'budgetSet');
      const period = parsePeriod(tokens[2], 'budgetSet');
      const limitMc = parseAmount(
        tokens[3],
        'budgetSet',
        'Say how many credits the budget allows, for example 200 or 12.5.',
      );
      expectEnd(tokens, 4, 'budgetSet');
      return { kind: 'budget-set', target, period, limitMc };
    }
    case 'thresholds': {
      const target = parseTarget(tokens[1], 'budgetThresholds');
      const period = parsePeriod(tokens[2], 'budgetThresholds');
      const thresholds = parseThresholds(tokens[3]);
      expectEnd(tokens, 4, 'budgetThresholds');
      return { kind: 'budget-thresholds', target, period, thresholds };
    }
    case 'alerts': {
      const channel = CHANNEL.exec(tokens[1]?.value ?? '');
      if (!channel)
        throw new UsageError(
          "Name the alerts channel as a #channel (pick it from Slack's suggestions).",
          'budgetAlerts',
        );
      expectEnd(tokens, 2, 'budgetAlerts');
      return { kind: 'budget-alerts', channelId: channel[1]! };
    }
    case 'confirm': {
      expectEnd(tokens, 2, 'budgetConfirm');
      if (tokens[1]?.value.toLowerCase() === 'off') return { kind: 'budget-confirm', thresholdMc: null };
      return {
        kind: 'budget-confirm',
        thresholdMc: parseAmount(
          tokens[1],
          'budgetConfirm',
          'Say the price in credits above which people confirm first, for example 20, or off.',
        ),
      };
    }
    case 'forecast': {
      const value = tokens[1]?.value.toLowerCase();
      if (value !== 'on' && value !== 'off') {
        throw new UsageError('Say on or off: forecast alerts warn when a budget will run out early.', 'budgetForecast');
      }
      expectEnd(tokens, 2, 'budgetForecast');
      return { kind: 'budget-forecast', on: value === 'on' };
    }
    case 'timezone': {
      const zone = tokens[1]?.value;
      if (!zone) throw new UsageError('Say which timezone, as an IANA name such as Europe/Berlin.', 'budgetTimezone');
      expectEnd(tokens, 2, 'budgetTimezone');
      return { kind: 'budget-timezone', timezone: decodeSlackText(zone) };
    }
    case 'spikes': {
      if (tokens[1]?.value.toLowerCase() === 'off') {
        expectEnd(tokens, 2, 'budgetSpikes');
        return { kind: 'budget-spikes', spikes: null };
      }
      const factor = Number(tokens[1]?.value ?? '');
      if (!/^\d{1,3}(\.\d{1,2})?$/.test(tokens[1]?.value ?? '') || factor <= 1) {
        const what =
          'Say how many times the usual day counts as a spike, a number above 1 such as 3, then the minimum in credits; or off.';
        throw new UsageError(what, 'budgetSpikes');
      }
      const minMc = parseAmount(
        tokens[2],
        'budgetSpikes',
        'Say the least spending in credits that counts as a spike, e.g. 20.',
      );
      expectEnd(tokens, 3, 'budgetSpikes');
      return { kind: 'budget-spikes', spikes: { factor, minMc } };
    }
  }
  const actions =
    'a period (today, last-week, 2026-11-30…), set, thresholds, alerts, confirm, forecast, spikes ' + 'or timezone';
  throw new UsageError(`\`${excerpt(tokens[0]!.value)}\` is not a budget action: use ${actions}.`, 'budget');
}

const PERIOD_WORDS = ['today', 'yesterday', 'week', 'last-week', 'month', 'last-month'] as const;
const GROUPINGS = ['job', 'person', 'channel', 'tag', 'model'] as const;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

function parseDate(text: string, usage: UsageKey): LocalDate | undefined {
  const match = DATE.exec(text);
  if (!match) return undefined;
  const date = { year: Number(match[1]), month: Number(match[2]), day: Number(match[3]) };
  if (!isLocalDate(date)) throw new UsageError(`\`${excerpt(text)}\` is not a date in the calendar.`, usage);
  return date;
}

function parseReportPeriod(text: string, usage: UsageKey): ReportPeriod {
  const value = text.toLowerCase();
  const word = PERIOD_WORDS.find((w) => w === value);
  if (word) return { kind: word };
  const month = /^(\d{4})-(\d{2})$/.exec(value);
  if (month && Number(month[2]) >= 1 && Number(month[2]) <= 12) {
    return { kind: 'calendar-month', year: Number(month[1]), month: Number(month[2]) };
  }
  const [first, second, ...more] = value.split('..');
  const from = first !== undefined ? parseDate(first, usage) : undefined;
  const to = second === undefined ? from : parseDate(second, usage);
  if (!from || !to || more.length) {
    const forms = 'a word such as last-month, a month (2026-11), a day (2026-11-30) or days (2026-11-01..2026-11-15)';
    throw new UsageError(`\`${excerpt(text)}\` is not a period: use ${forms}.`, usage);
  }
  if (isoOf(to) < isoOf(from)) throw new UsageError(`The period \`${excerpt(text)}\` ends before it starts.`, usage);
  return { kind: 'days', from, to };
}

const isoOf = (d: LocalDate) => d.year * 10_000 + d.month * 100 + d.day;

function parseExport(tokens: Token[]): Command {
  let period: ReportPeriod | undefined;
  const flags: Record<string, string> = {};
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    const match = token.quoted ? null : FLAG.exec(token.value);
    if (!match) {
      if (period) throw new UsageError(`\`${excerpt(token.value)}\` is more than this command takes.`, 'export');
      period = parseReportPeriod(token.value, 'export');
      continue;
    }
    const name = match[1]!.toLowerCase();
    if (name !== 'by' && name !== 'format') {
      throw new UsageError(`\`${excerpt(token.value)}\` is not an option of export.`, 'export');
    }
    if (flags[name] !== undefined) throw new UsageError(`\`--${name}\` is given twice.`, 'export');
    const value = match[2] ?? tokens[++i]?.value;
    if (value === undefined) throw new UsageError(`\`--${name}\` needs a value.`, 'export');
    flags[name] = value.toLowerCase();
  }
  const by = flags.by ?? 'job';
  if (!(GROUPINGS as readonly string[]).includes(by)) {
    throw new UsageError('`--by` must be job, person, channel, tag or model.', 'export');
  }
  const format = flags.format ?? 'csv';
  if (format !== 'csv' && format !== 'focus') throw new UsageError('`--format` must be csv or focus.', 'export');
  // A FOCUS row is one charge (one job); FinOps tools do the grouping.
  if (format === 'focus' && by !== 'job') {
    throw new UsageError('`--format focus` writes one row per job; leave out `--by`, or use csv to group.', 'export');
  }
  return { kind: 'export', period: period ?? { kind: 'month' }, by: by as ExportGrouping, format };
}

function parseAccount(tokens: Token[]): Command {
  const action = tokens[0]?.value.toLowerCase();
  if (action === undefined) return { kind: 'account' };
  if (action === 'reconcile') {
    expectEnd(tokens, 2, 'accountReconcile');
    if (tokens[1]?.value.toLowerCase() === 'off') return { kind: 'account-reconcile', toleranceMc: null };
    const missing =
      'Say how many credits a task may differ from what Kling charged before an alert (0: any difference), or off.';
    return { kind: 'account-reconcile', toleranceMc: parseAmount(tokens[1], 'accountReconcile', missing) };
  }
  if (action !== 'alerts' && action !== 'expiry') {
    throw new UsageError(
      `\`${excerpt(tokens[0]!.value)}\` is not an account action: use alerts, expiry or reconcile.`,
      'accountAlerts',
    );
  }
  const value = tokens[1]?.value.toLowerCase();
  expectEnd(tokens, 2, 'accountAlerts');
  const alert = action === 'alerts' ? 'runout' : 'expiry';
  if (value === 'off') return { kind: 'account-alerts', alert, days: 0 };
  if (!value || !/^\d{1,3}$/.test(value) || Number(value) < 1 || Number(value) > 365) {
    throw new UsageError(
      value
        ? `\`${excerpt(tokens[1]!.value)}\` is not a number of days between 1 and 365 (or off).`
        : 'Say a number of days, or off.',
      'accountAlerts',
    );
  }
  return { kind: 'account-alerts', alert, days: Number(value) };
}
