import { pipeline, Readable } from 'node:stream';
import { stringify } from 'csv-stringify';
import { auditTrail, type AuditSubject } from '../budget/audit';
import { periodBounds, resolveReportPeriod, type ReportPeriod } from '../budget/periods';
import { systemClock } from '../clock';
import type { Db } from '../db';
import { creditsDecimal, mc, sumMc, usdDecimal, type Millicredits } from '../money/credits';
import * as store from '../budget/jobs';

export type ExportGrouping = 'job' | store.Grouping;
type ExportFormat = 'csv' | 'focus';

export interface ExportRequest {
  teamId: string;
  /** Only this person's jobs; the whole workspace's when absent (admins). */
  userId?: string;
  period: ReportPeriod;
  by: ExportGrouping;
  format: ExportFormat;
}

interface ExportTotals {
  jobs: number;
  estimateMc: Millicredits;
  chargedMc: Millicredits;
  /** Exact dollars at the configured price per credit, as a plain decimal. */
  chargedUsd: string;
}

export interface ExportFile {
  fileName: string;
  /** The period as its local days, e.g. "2026-11" or "2026-11-01..2026-11-15". */
  label: string;
  /** The CSV bytes, produced as they are read. */
  stream: Readable;
  /** The sums of the rows written, known once the stream has ended. */
  totals: Promise<ExportTotals>;
}

export interface ExporterOptions {
  creditPriceUsd: number;
  /** Display names of people (the file names them); ids stay when a name is unknown. */
  names: (userIds: string[]) => Promise<Map<string, string>>;
  now?: () => Date;
  /** Jobs read per query. */
  pageSize?: number;
}

type Cell = string | null;

const PROVIDER = 'Kling AI';
const JOB_COLUMNS = [
  'job_id',
  'time',
  'person_id',
  'person_name',
  'channel_id',
  'tag',
  'model',
  'mode',
  'duration_s',
  'audio',
  'estimate_credits',
  'charged_credits',
  'charged_usd',
  'state',
  'kling_task_id',
];
/** FOCUS 1.2 columns, then this product's own (x_), as the specification orders them. */
const FOCUS_COLUMNS = [
  'BilledCost',
  'EffectiveCost',
  'ListCost',
  'ContractedCost',
  'BillingCurrency',
  'BillingAccountId',
  'BillingAccountName',
  'BillingPeriodStart',
  'BillingPeriodEnd',
  'ChargePeriodStart',
  'ChargePeriodEnd',
  'ChargeCategory',
  'ChargeClass',
  'ChargeDescription',
  'ChargeFrequency',
  'ServiceName',
  'ServiceCategory',
  'ServiceSubcategory',
  'ProviderName',
  'PublisherName',
  'InvoiceIssuerName',
  'ResourceId',
  'ResourceName',
  'ResourceType',
  'SkuId',
  'PricingQuantity',
  'PricingUnit',
  'ListUnitPrice',
  'ContractedUnitPrice',
  'ConsumedQuantity',
  'ConsumedUnit',
  'Tags',
  'x_SlackUserName',
  'x_EstimatedCredits',
  'x_State',
  'x_KlingTaskId',
];

const AUDIT_COLUMNS = ['time', 'person_id', 'person_name', 'change', 'budget', 'old_value', 'new_value', 'why'];
/** Audit values in millicredits, written in credits like the rest of the export. */
const MONEY_SUBJECTS = new Set<AuditSubject>(['limit', 'confirm-threshold', 'spike-minimum', 'adjustment']);

/**
 * Rows as CSV. A text cell that a spreadsheet would run as a formula (=, +, -, @, tab, CR, LF first) is
 * written with a leading apostrophe.
 */
function csvOf(rows: Iterable<Cell[]> | AsyncIterable<Cell[]>, columns: string[], fail: (error: unknown) => void) {
  const csv = stringify({
    header: true,
    columns,
    escape_formulas: true,
    // csv-stringify leaves a leading line feed alone; it starts a formula in some spreadsheets too.
    cast: { string: (value) => (value.startsWith('\n') ? `'${value}` : value) },
  });
  pipeline(Readable.from(rows), csv, (error) => error && fail(error));
  return csv;
}

/** UTC, to the second, as FOCUS writes dates: 2026-11-30T09:15:00Z. */
const utc = (at: Date) => `${at.toISOString().slice(0, 19)}Z`;

/**
 * Spending as a CSV file: one row per job, sums per person, channel, tag or model, or FOCUS 1.2 rows.
 * Jobs are read a page at a time and written as they come, so a period of any size never sits in memory.
 */
export class Exporter {
  private readonly now: () => Date;
  private readonly pageSize: number;

  constructor(
    private readonly db: Db,
    private readonly options: ExporterOptions,
  ) {
    this.now = options.now ?? systemClock;
    this.pageSize = options.pageSize ?? 2_000;
    usdDecimal(mc(0), options.creditPriceUsd); // refuses a price it cannot write exactly, at start-up
  }

  async export(request: ExportRequest): Promise<ExportFile> {
    const timezone = (await store.workspaceTimezone(this.db, request.teamId)) ?? 'UTC';
    const span = resolveReportPeriod(request.period, this.now(), timezone);
    const audience: store.Audience = { teamId: request.teamId };
    if (request.userId !== undefined) audience.userId = request.userId;
    const sums = { jobs: 0, estimateMc: mc(0), chargedMc: mc(0) };
    let finish!: (totals: ExportTotals) => void;
    let fail!: (error: unknown) => void;
    const totals = new Promise<ExportTotals>((resolve, reject) => {
      finish = resolve;
      fail = reject;
    });
    totals.catch(() => undefined); // the stream reports the same error to its reader
    const count = (jobs: number, estimateMc: Millicredits, chargedMc: Millicredits) => {
      sums.jobs += jobs;
      sums.estimateMc = sumMc([sums.estimateMc, estimateMc]);
      sums.chargedMc = sumMc([sums.chargedMc, chargedMc]);
    };

    const records = async function* (this: Exporter): AsyncGenerator<Cell[]> {
      if (request.by === 'job') {
        for await (const page of this.pages(audience, span)) {
          const names = await this.options.names([...new Set(page.map((job) => job.userId))]);
          for (const job of page) {
            count(1, job.estimateMc, job.chargedMc);
            yield request.format === 'focus'
              ? this.focusRow(job, names, request.teamId, timezone)
              : this.jobRow(job, names);
          }
        }
      } else {
        const rows = await store.groups(this.db, audience, span, request.by);
        const names =
          request.by === 'person' ? await this.options.names(rows.map((r) => r.key!)) : new Map<string, string>();
        for (const row of rows) {
          count(row.jobs, row.estimateMc, row.chargedMc);
          const named = request.by === 'person' ? [row.key, names.get(row.key!) ?? row.key] : [row.key];
          const sums = [creditsDecimal(row.estimateMc), creditsDecimal(row.chargedMc), this.usd(row.chargedMc)];
          yield [...named, String(row.jobs), ...sums];
        }
      }
      finish({ ...sums, chargedUsd: this.usd(sums.chargedMc) });
    }.call(this);

    const csv = csvOf(records, this.columns(request), fail);
    const scope = request.userId === undefined ? '' : `-${request.userId}`;
    const kind = request.format === 'focus' ? 'focus' : request.by === 'job' ? 'jobs' : `by-${request.by}`;
    return { fileName: `kling-${kind}${scope}-${span.label}.csv`, label: span.label, stream: csv, totals };
  }

  /**
   * The workspace's audit trail for the period, as a second CSV beside an admin's export: one row per change
   * to money or rules, oldest first, amounts in credits. A period's changes are few: read at once.
   */
  async auditFile(
    teamId: string,
    period: ReportPeriod,
  ): Promise<{ fileName: string; stream: Readable; changes: number }> {
    const timezone = (await store.workspaceTimezone(this.db, teamId)) ?? 'UTC';
    const span = resolveReportPeriod(period, this.now(), timezone);
    const { entries } = await auditTrail(this.db, teamId, span, Number.MAX_SAFE_INTEGER);
    const names = await this.options.names([...new Set(entries.map((e) => e.actor))]);
    const value = (subject: AuditSubject, v: unknown): Cell => {
      if (v === null || v === undefined) return null;
      // A raise: the limit in force before (a number), then what it became, by how much and until when.
      if (subject === 'raise' && typeof v === 'object') {
        const raised = v as { limitMc: number; amountMc: number; endsAt: string };
        return `${creditsDecimal(mc(raised.limitMc))} (+${creditsDecimal(mc(raised.amountMc))} until ${raised.endsAt})`;
      }
      if (MONEY_SUBJECTS.has(subject) || subject === 'raise') return creditsDecimal(mc(Number(v)));
      return typeof v === 'string' ? v : JSON.stringify(v);
    };
    const rows = entries
      .reverse()
      .map((e): Cell[] => [
        utc(e.at),
        e.actor,
        names.get(e.actor) ?? e.actor,
        e.subject,
        e.budget ? `${e.budget.scope}:${e.budget.scopeId}:${e.budget.period}` : null,
        value(e.subject, e.oldValue),
        value(e.subject, e.newValue),
        e.why,
      ]);
    const stream = csvOf(rows, AUDIT_COLUMNS, () => undefined);
    return { fileName: `kling-audit-${span.label}.csv`, stream, changes: rows.length };
  }

  private async *pages(audience: store.Audience, span: store.Span): AsyncGenerator<store.JobRow[]> {
    let after: { at: string; holdId: string } | null = null;
    for (;;) {
      const page = await store.jobPage(this.db, audience, span, after, this.pageSize);
      if (page.length) yield page;
      if (page.length < this.pageSize) return;
      const last = page.at(-1)!;
      after = { at: last.cursorAt, holdId: last.holdId };
    }
  }

  private columns(request: ExportRequest): string[] {
    if (request.format === 'focus') return FOCUS_COLUMNS;
    if (request.by === 'job') return JOB_COLUMNS;
    const key =
      request.by === 'person' ? ['person_id', 'person_name'] : [request.by === 'channel' ? 'channel_id' : request.by];
    return [...key, 'jobs', 'estimate_credits', 'charged_credits', 'charged_usd'];
  }

  private usd(amount: Millicredits): string {
    return usdDecimal(amount, this.options.creditPriceUsd);
  }

  private jobRow(job: store.JobRow, names: Map<string, string>): Cell[] {
    return [
      job.jobId,
      utc(job.createdAt),
      job.userId,
      names.get(job.userId) ?? job.userId,
      job.channelId,
      job.tag,
      job.model,
      job.mode,
      job.duration,
      job.audio ? 'yes' : 'no',
      creditsDecimal(job.estimateMc),
      creditsDecimal(job.chargedMc),
      this.usd(job.chargedMc),
      job.state,
      job.klingTaskId,
    ];
  }

  /**
   * A job as a FOCUS usage charge: its price is credits at the configured dollar price, so ListCost =
   * ListUnitPrice x PricingQuantity; the charge runs from the hold to its settlement (at least a second), and
   * it is billed in the workspace's calendar month.
   */
  private focusRow(job: store.JobRow, names: Map<string, string>, teamId: string, timezone: string): Cell[] {
    const cost = this.usd(job.chargedMc);
    const credits = creditsDecimal(job.chargedMc);
    const start = Math.floor(job.createdAt.getTime() / 1000) * 1000;
    const end = Math.max(Math.ceil((job.settledAt?.getTime() ?? 0) / 1000) * 1000, start + 1000);
    const billing = periodBounds('month', job.createdAt, timezone);
    const tags: Record<string, string> = { slack_user: job.userId };
    if (job.channelId) tags.slack_channel = job.channelId;
    if (job.tag) tags.tag = job.tag;
    const price = String(this.options.creditPriceUsd);
    return [
      cost,
      cost,
      cost,
      cost,
      'USD',
      teamId,
      null,
      utc(billing.start),
      utc(billing.end),
      utc(new Date(start)),
      utc(new Date(end)),
      'Usage',
      null,
      job.description,
      'Usage-Based',
      PROVIDER,
      'AI and Machine Learning',
      'Generative AI',
      PROVIDER,
      PROVIDER,
      PROVIDER,
      job.jobId,
      job.description,
      job.endpoint,
      job.model,
      credits,
      'Credits',
      price,
      price,
      credits,
      'Credits',
      JSON.stringify(tags),
      names.get(job.userId) ?? job.userId,
      creditsDecimal(job.estimateMc),
      job.state,
      job.klingTaskId,
    ];
  }
}
