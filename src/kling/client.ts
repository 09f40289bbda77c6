import { setTimeout as sleep } from 'node:timers/promises';
import type { KlingAuth } from '../config';
import type { Logger } from '../log';
import { isStandardEndpoint, type KlingEndpoint, type LegacyEndpoint } from '../pricing/types';
import { KlingCredentials } from './auth';
import { KlingApiError, KlingError, KlingTimeoutError, KlingTransportError } from './errors';
import {
  accountCostsSchema,
  billingPackageSchema,
  envelopeSchema,
  taskDataSchema,
  toKlingTask,
  type KlingTask,
} from './schema';
import { standardCreateBody, standardQueryPath, standardTaskSchema, standardToKlingTask } from './standard';

/** Legacy (model_name in the body) paths. */
export const ENDPOINT_PATHS: Readonly<Record<LegacyEndpoint, string>> = {
  text2video: '/v1/videos/text2video',
  image2video: '/v1/videos/image2video',
  'omni-video': '/v1/videos/omni-video',
  'video-extend': '/v1/videos/video-extend',
  'images/generations': '/v1/images/generations',
  'kolors-virtual-try-on': '/v1/images/kolors-virtual-try-on',
};

export interface KlingClientOptions {
  baseUrl: string;
  auth: KlingAuth;
  /** Per HTTP call, body included. */
  timeoutMs?: number;
  /** Extra attempts after a retryable failure (1302, 1303, 5000–5002, timeouts, dropped connections). */
  retries?: number;
  logger?: Logger;
  /** Sent as callback_url on every create that does not name its own. */
  callbackUrl?: string;
  /** Wall clock in epoch ms, for token expiry and the default end of a costs range (tests move it). */
  now?: () => number;
  /** First backoff step (default 1 s, as Kling asks on 1303); it doubles per attempt, see retryDelay. */
  retryDelayMs?: number;
  maxRetryDelayMs?: number;
}

export interface ResourcePack {
  id: string;
  name: string;
  remaining: number;
  total: number;
  status: string;
  expiresAt: number;
}

/** One unit deduction of POST /account/billing/package. */
export interface PackDeduction {
  taskId: string;
  packId?: string;
  model?: string;
  at: number;
  units: number;
}

/** Exponential from `baseMs` (Kling: ≥ 1 s on 1303) up to `maxMs`, plus up to half again of jitter so replicas do not retry in step. */
export function retryDelay(retry: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const step = Math.min(maxMs, baseMs * 2 ** retry);
  return Math.round(step * (1 + random() / 2));
}

/** No clear answer (timeout, dropped connection, garbled body, 5xxx): a create that ended so may or may not have made the task. */
function mayHaveCreated(error: unknown): boolean {
  return error instanceof KlingTransportError || (error instanceof KlingApiError && error.code >= 5000);
}

function notFound(error: unknown): boolean {
  return error instanceof KlingApiError && error.code === 1203;
}

/**
 * Kling's legacy API. Every call has a timeout; retryable failures are retried with backoff; a rejected
 * token is re-signed once. Secrets live in KlingCredentials and are scrubbed from anything we raise or log.
 */
export class KlingClient {
  private readonly baseUrl: string;
  private readonly credentials: KlingCredentials;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly retryDelayMs: number;
  private readonly maxRetryDelayMs: number;
  private readonly nowMs: () => number;

  constructor(private readonly options: KlingClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.nowMs = options.now ?? Date.now;
    this.credentials = new KlingCredentials(options.auth, this.nowMs);
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.retries = options.retries ?? 2;
    this.retryDelayMs = options.retryDelayMs ?? 1_000;
    this.maxRetryDelayMs = options.maxRetryDelayMs ?? 30_000;
  }

  /**
   * Creates the task. When an attempt ends without a clear answer (timeout, dropped connection, 5xxx), the
   * external_task_id is looked up before anything is sent again, so Kling never runs the job twice.
   */
  async create(
    endpoint: KlingEndpoint,
    body: Record<string, unknown> & { external_task_id: string },
  ): Promise<KlingTask> {
    const externalTaskId = body.external_task_id;
    if (typeof externalTaskId !== 'string' || externalTaskId === '') {
      throw new TypeError('KlingClient.create needs an external_task_id: it is what makes a retried create safe');
    }
    const payload =
      this.options.callbackUrl && body.callback_url === undefined
        ? { ...body, callback_url: this.options.callbackUrl }
        : body;
    let unsure = false;
    return this.withRetries(`create ${endpoint}`, async () => {
      if (unsure) {
        const existing = await this.findByExternalId(endpoint, externalTaskId);
        if (existing) return existing;
      }
      try {
        return await this.post(endpoint, payload);
      } catch (error) {
        if (mayHaveCreated(error)) unsure = true;
        // Our earlier, unanswered attempt got there after all: Kling refuses the duplicate id.
        if (unsure && error instanceof KlingApiError && error.code === 1201) {
          const existing = await this.findByExternalId(endpoint, externalTaskId);
          if (existing) return existing;
        }
        throw error;
      }
    });
  }

  /** One task by Kling's task_id or by our external_task_id; KlingApiError 1203 when Kling has no such task. */
  async query(endpoint: KlingEndpoint, id: { taskId: string } | { externalTaskId: string }): Promise<KlingTask> {
    return this.withRetries(`query ${endpoint}`, async () =>
      isStandardEndpoint(endpoint)
        ? this.standardTask(id)
        : 'taskId' in id
          ? this.task(await this.call('GET', `${ENDPOINT_PATHS[endpoint]}/${encodeURIComponent(id.taskId)}`))
          : this.byExternalId(endpoint, id.externalTaskId),
    );
  }

  /** Resource packs. Kling's remaining figure lags by up to 12 hours and wants QPS ≤ 1. */
  async accountCosts(range?: { startTime: number; endTime: number }): Promise<ResourcePack[]> {
    const endTime = range?.endTime ?? this.nowMs();
    const startTime = range?.startTime ?? endTime - 365 * 24 * 3600 * 1000;
    return this.withRetries('account costs', async () => {
      const { data, requestId } = await this.call('GET', `/account/costs?start_time=${startTime}&end_time=${endTime}`);
      const parsed = accountCostsSchema.safeParse(data);
      if (!parsed.success)
        throw new KlingTransportError(
          `Kling /account/costs answer is not the documented shape (request ${requestId ?? '?'})`,
        );
      if (parsed.data.code !== 0)
        throw new KlingApiError(parsed.data.code, 200, this.scrub(parsed.data.msg ?? ''), requestId);
      return parsed.data.resource_pack_subscribe_infos.map((p) => ({
        id: p.resource_pack_id ?? p.resource_pack_name,
        name: p.resource_pack_name,
        remaining: p.remaining_quantity,
        total: p.total_quantity,
        status: p.status,
        expiresAt: p.invalid_time,
      }));
    });
  }

  /** Every unit deduction in [startTime, endTime] , all pages. */
  async billingPackage(range: { startTime: number; endTime: number }): Promise<PackDeduction[]> {
    const out: PackDeduction[] = [];
    let cursor: string | undefined;
    do {
      const body = cursor ? { cursor } : { start_time: range.startTime, end_time: range.endTime, limit: 500 };
      const page = await this.withRetries('billing package', async () => {
        const { data, requestId } = await this.call('POST', '/account/billing/package', body);
        const parsed = billingPackageSchema.safeParse(data);
        if (!parsed.success)
          throw new KlingTransportError(
            `Kling /account/billing/package answer is not the documented shape (request ${requestId ?? '?'})`,
          );
        return parsed.data;
      });
      for (const d of page.result.detail) {
        out.push({
          taskId: d.task_id,
          at: d.deduction_time,
          units: d.deduction_amount,
          ...(d.package_id && { packId: d.package_id }),
          ...(d.model_name && { model: d.model_name }),
        });
      }
      cursor = page.has_more && page.next_cursor ? page.next_cursor : undefined;
    } while (cursor);
    return out;
  }

  /**
   * Reference §2.1 leaves the form open (path segment or query string); the query string cannot be mistaken
   * for a task_id, and should Kling answer with the list instead (ignoring the filter) the task is picked out of it.
   */
  private async byExternalId(endpoint: KlingEndpoint, externalTaskId: string): Promise<KlingTask> {
    if (isStandardEndpoint(endpoint)) return this.standardTask({ externalTaskId });
    const { data, requestId } = await this.call(
      'GET',
      `${ENDPOINT_PATHS[endpoint]}?external_task_id=${encodeURIComponent(externalTaskId)}`,
    );
    if (!Array.isArray(data)) return this.task({ data, requestId });
    const match = data.find(
      (item) =>
        (item as { task_info?: { external_task_id?: string } } | null)?.task_info?.external_task_id === externalTaskId,
    );
    if (!match) throw new KlingApiError(1203, 404, `no task with external_task_id ${externalTaskId}`, requestId);
    return this.task({ data: match, requestId });
  }

  /** One create call, on the path and in the body shape of the endpoint's API. */
  private async post(endpoint: KlingEndpoint, payload: Record<string, unknown>): Promise<KlingTask> {
    if (!isStandardEndpoint(endpoint)) return this.task(await this.call('POST', ENDPOINT_PATHS[endpoint], payload));
    if (this.credentials.canRefresh) {
      // Kling refuses signed tokens there: say why here rather than have the token look rejected and pause the queue.
      const why = `${endpoint} is on Kling's new-standard API, which takes an API key only: set KLING_API_KEY`;
      throw new KlingApiError(1103, 403, why);
    }
    const { data, requestId } = await this.call('POST', `/${endpoint}`, standardCreateBody(payload));
    return this.parseStandard(data, requestId);
  }

  /** New standard: `GET /tasks` answers a list, empty when Kling has no such task. */
  private async standardTask(id: { taskId: string } | { externalTaskId: string }): Promise<KlingTask> {
    const { data, requestId } = await this.call('GET', standardQueryPath(id));
    const wanted = 'taskId' in id ? id.taskId : id.externalTaskId;
    const match = Array.isArray(data)
      ? data.find((item) => {
          const task = item as { id?: unknown; external_id?: unknown } | null;
          return ('taskId' in id ? task?.id : task?.external_id) === wanted;
        })
      : undefined;
    if (!match) {
      const by = 'taskId' in id ? 'with id' : 'with external_task_id';
      throw new KlingApiError(1203, 404, `no task ${by} ${wanted}`, requestId);
    }
    return this.parseStandard(match, requestId);
  }

  private parseStandard(data: unknown, requestId?: string): KlingTask {
    const parsed = standardTaskSchema.safeParse(data);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = `${issue?.path.join('.') || 'data'}: ${issue?.message}`;
      throw new KlingTransportError(`Kling answered without a readable task (${where}; request ${requestId ?? '?'})`);
    }
    return standardToKlingTask(parsed.data);
  }

  /** The create lookup: undefined when Kling has no such task. */
  private async findByExternalId(endpoint: KlingEndpoint, externalTaskId: string): Promise<KlingTask | undefined> {
    try {
      return await this.byExternalId(endpoint, externalTaskId);
    } catch (error) {
      if (notFound(error)) return undefined;
      throw error;
    }
  }

  private task({ data, requestId }: { data: unknown; requestId?: string }): KlingTask {
    const parsed = taskDataSchema.safeParse(data);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new KlingTransportError(
        `Kling answered without a readable task (${issue?.path.join('.') || 'data'}: ${issue?.message}; request ${requestId ?? '?'})`,
      );
    }
    return toKlingTask(parsed.data);
  }

  /** Runs `attempt` until it succeeds, fails for good, or runs out of retries; a rejected token is re-signed once. */
  private async withRetries<T>(operation: string, attempt: () => Promise<T>): Promise<T> {
    let refreshed = false;
    for (let retry = 0; ; ) {
      try {
        return await attempt();
      } catch (error) {
        if (error instanceof KlingError && error.action === 'reauth' && this.credentials.canRefresh && !refreshed) {
          refreshed = true;
          this.credentials.invalidate();
          this.options.logger?.warn(
            { operation, code: (error as KlingApiError).code },
            'Kling refused the token; signing a new one',
          );
          continue;
        }
        if (!(error instanceof KlingError) || error.action !== 'retry' || retry >= this.retries) throw error;
        const delayMs = retryDelay(retry, this.retryDelayMs, this.maxRetryDelayMs);
        retry += 1;
        this.options.logger?.warn(
          { operation, attempt: retry, error: error.message, delayMs },
          'Kling call failed; retrying',
        );
        await sleep(delayMs);
      }
    }
  }

  /** One HTTP exchange: the envelope's data on code 0, a typed error otherwise. */
  private async call(
    method: 'GET' | 'POST',
    path: string,
    body?: unknown,
  ): Promise<{ data: unknown; requestId?: string }> {
    const started = performance.now();
    let response: Response;
    let text: string;
    try {
      response = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${this.credentials.bearer()}`,
          accept: 'application/json',
          ...(body !== undefined && { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      text = await response.text();
    } catch (error) {
      const name = (error as Error).name;
      if (name === 'TimeoutError' || name === 'AbortError') {
        throw new KlingTimeoutError(`Kling did not answer ${method} ${path} within ${this.timeoutMs} ms`);
      }
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      throw new KlingTransportError(
        this.scrub(
          `Kling connection failed on ${method} ${path}: ${cause?.code ?? cause?.message ?? (error as Error).message}`,
        ),
      );
    }
    const log = { method, path, httpStatus: response.status, ms: Math.round(performance.now() - started) };
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      this.options.logger?.debug(log, 'Kling answer is not JSON');
      throw new KlingTransportError(
        `Kling answered ${method} ${path} with HTTP ${response.status} and a body that is not JSON`,
        response.status,
      );
    }
    const envelope = envelopeSchema.safeParse(json);
    if (!envelope.success) {
      throw new KlingTransportError(
        `Kling answered ${method} ${path} with HTTP ${response.status} outside its {code, message, data} envelope`,
        response.status,
      );
    }
    const { code, message, request_id: requestId } = envelope.data;
    this.options.logger?.debug({ ...log, code, requestId }, 'Kling call');
    if (code !== 0) throw new KlingApiError(code, response.status, this.scrub(message ?? ''), requestId ?? undefined);
    return { data: envelope.data.data, requestId: requestId ?? undefined };
  }

  private scrub(text: string): string {
    return this.credentials.secrets().reduce((out, secret) => out.split(secret).join('[redacted]'), text);
  }
}
