import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes, randomUUID } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { builtInCatalog, MAX_PROMPT_CHARS, PricingError, promptLength, type KlingEndpoint, type PriceCatalog, type PricedRequest } from '../pricing';
import { ENDPOINT_PATHS } from '../kling/client';
import { KLING_CODES } from '../kling/errors';
import { signWebhook } from '../kling/callback';
import type { KlingTaskStatus } from '../kling/schema';

/**
 * A stand-in for Kling's legacy API on loopback, faithful where the bot's money and safety depend on it:
 * auth codes, body validation, the prepaid pack, the account concurrency limit, task lifecycle, callbacks,
 * and injectable faults. Nothing here logs: requests (Authorization included) are only kept in memory for tests.
 */

/** Keys the simulator accepts when none are given (also printed by `npm run kling-sim`). */
export const DEMO_KLING_KEYS = { apiKey: 'sim-api-key', accessKey: 'sim-access-key', secretKey: 'sim-secret-key' } as const;

export interface KlingSimulatorOptions {
  port?: number;
  apiKey?: string;
  accessKey?: string;
  secretKey?: string;
  /** Account limit in slots (a video or try-on task holds 1, an image task `n`); 1303 above it. */
  concurrency?: number;
  /** Units in the prepaid pack; 1102 when a request costs more than what is left. */
  balance?: number;
  timings?: { queuedMs?: number; processingMs?: number };
  /** Fraction of tasks that end failed, spread evenly (0.25 → every 4th task). */
  failRate?: number;
  catalog?: PriceCatalog;
  /** When set, callbacks carry Standard-Webhooks signature headers, as Kling sends them once a webhook secret exists. */
  webhookSecret?: string;
  /** The server's clock, for token nbf/exp checks and timestamps. */
  now?: () => number;
}

/**
 * http5xx: a gateway's HTML error page · code: Kling's envelope with that code and its HTTP status · slow: answers after delayMs ·
 * hang: never answers, does nothing · drop: does the work, then cuts the connection · malformed: does the work, answers half a JSON ·
 * policy: 1301 at create · fail-task: the task is made and ends failed with a risk-control reason ·
 * accept-then-timeout: the task is made and the create is never answered.
 * The last three only hit creates.
 */
export type FaultKind = 'http5xx' | 'code' | 'slow' | 'hang' | 'drop' | 'malformed' | 'policy' | 'fail-task' | 'accept-then-timeout';
export interface FaultSpec {
  /** A KlingEndpoint ('text2video'), 'account/costs', or a path prefix ('/v1/videos'); every endpoint when absent. */
  endpoint?: string;
  method?: 'POST' | 'GET';
  kind: FaultKind;
  /** The service code for kind 'code'; the HTTP status for 'http5xx' (default 502). */
  code?: number;
  /** How many matching requests it hits (default 1; Infinity for all). */
  times?: number;
  /** For 'slow' (default 2000). */
  delayMs?: number;
}

export interface RecordedRequest { method: string; path: string; headers: Record<string, string>; body: unknown; at: number }
export interface SimulatedTask {
  taskId: string;
  externalTaskId?: string;
  status: KlingTaskStatus;
  endpoint: string;
  body: unknown;
  /** Status queries of this task so far (by task_id or external_task_id). */
  queries: number;
}
export interface DeliveredCallback { url: string; taskId: string; status: KlingTaskStatus; httpStatus?: number; error?: string }

export interface KlingSimulator {
  url: string;
  requests: RecordedRequest[];
  callbacks: DeliveredCallback[];
  tasks(): SimulatedTask[];
  /** Most tasks in submitted or processing at once (tasks, not slots: an image task with n = 4 counts once). */
  inFlightPeak(): number;
  fault(spec: FaultSpec): void;
  clearFaults(): void;
  setBalance(units: number): void;
  /**
   * What final_unit_deduction says for tasks that succeed from now on, whatever they cost ("-1", "12.5", "n/a"):
   * Kling charging above the quote, or an answer no charge can be read from. undefined: the real cost again.
   */
  setCharge(units: string | undefined): void;
  /** Ends a task now (through processing, as Kling would), whatever its timings say: for tests that hold tasks in flight. */
  endTask(taskId: string, outcome: 'succeed' | 'failed', message?: string): void;
  /** Units left in the pack. */
  balance(): number;
  close(): Promise<void>;
}

interface Task {
  taskId: string;
  externalTaskId?: string;
  endpoint: KlingEndpoint;
  body: Record<string, unknown>;
  status: KlingTaskStatus;
  statusMsg: string;
  createdAt: number;
  updatedAt: number;
  slots: number;
  costMc: number;
  willFail?: string;
  /** Normalized by the catalog: what Kling actually generates (defaults filled in). */
  request: PricedRequest;
  parentVideo?: { id: string; url: string; duration: string };
  videos: { id: string; url: string; duration: string }[];
  images: { index: number; url: string }[];
  callbackUrl?: string;
  delivery: Promise<void>;
  queries: number;
  /** The next step of its lifecycle. */
  timer?: NodeJS.Timeout;
}

const CREATE_ONLY: ReadonlySet<FaultKind> = new Set(['policy', 'fail-task', 'accept-then-timeout']);
const RISK_CONTROL_MESSAGE = 'Failure to pass the risk control system: triggering the content risk control of the platform';
const STRING_FIELDS = ['model_name', 'prompt', 'negative_prompt', 'mode', 'duration', 'sound', 'aspect_ratio', 'image', 'image_tail', 'video_id', 'human_image', 'cloth_image', 'callback_url', 'external_task_id', 'resolution'];
const ENDPOINTS = Object.keys(ENDPOINT_PATHS) as KlingEndpoint[];
/** Endpoints whose results are images; the rest make videos. */
const IMAGE_ENDPOINTS: ReadonlySet<KlingEndpoint> = new Set(['images/generations', 'kolors-virtual-try-on'] as const);

class Refusal {
  constructor(readonly code: number, readonly message: string) {}
}

/** Millicredits as Kling writes units: "2.5", "0.05", "12". */
function formatUnits(mc: number): string {
  const frac = String(mc % 1000).padStart(3, '0').replace(/0+$/, '');
  return `${Math.floor(mc / 1000)}${frac ? `.${frac}` : ''}`;
}

function taskId(): string {
  return randomBytes(12).toString('base64url');
}

function flatHeaders(headers: http.IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

export async function startKlingSimulator(options: KlingSimulatorOptions = {}): Promise<KlingSimulator> {
  const keys = options.apiKey || options.accessKey || options.secretKey ? options : DEMO_KLING_KEYS;
  const catalog = options.catalog ?? builtInCatalog;
  const now = options.now ?? Date.now;
  const concurrency = options.concurrency ?? 20;
  const queuedMs = options.timings?.queuedMs ?? 10;
  const processingMs = options.timings?.processingMs ?? 30;
  const failRate = options.failRate ?? 0;
  const initialMc = Math.round((options.balance ?? 1_000_000) * 1000);

  const startedAt = now();
  let balanceMc = initialMc;
  let failDebt = 0;
  let tasksInFlight = 0;
  let peak = 0;
  let faults: (FaultSpec & { left: number })[] = [];
  let chargeOverride: string | undefined;
  const tasks = new Map<string, Task>();
  const byExternal = new Map<string, Task>();
  const videos = new Map<string, { task: Task; duration: string; url: string }>();
  const timers = new Set<NodeJS.Timeout>();
  const requests: RecordedRequest[] = [];
  const callbacks: DeliveredCallback[] = [];
  /** Result files the simulator serves itself (a tiny body each), by path. */
  const media = new Set<string>();
  const served = (path: string) => (media.add(path), path);
  let url = '';

  /** Concurrency slots held by tasks in submitted or processing. */
  let slotsInUse = 0;
  const later = (ms: number, fn: () => void): NodeJS.Timeout => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timers.add(timer);
    return timer;
  };

  function authenticate(authorization: string | undefined): Refusal | undefined {
    if (!authorization?.trim()) return new Refusal(1001, 'Authorization is empty');
    const match = /^Bearer (\S+)$/.exec(authorization);
    if (!match) return new Refusal(1002, 'Authorization is invalid');
    const token = match[1]!;
    if (keys.apiKey && token === keys.apiKey) return undefined;
    if (keys.accessKey && keys.secretKey && token.split('.').length === 3) {
      let claims: jwt.JwtPayload | string;
      try {
        claims = jwt.verify(token, keys.secretKey, { algorithms: ['HS256'], ignoreExpiration: true, ignoreNotBefore: true });
      } catch {
        return new Refusal(1002, 'Authorization is invalid');
      }
      if (typeof claims === 'string' || claims.iss !== keys.accessKey) return new Refusal(1000, 'Authentication failed');
      const nowSec = Math.floor(now() / 1000);
      if (typeof claims.nbf === 'number' && claims.nbf > nowSec) return new Refusal(1003, 'Authorization is not yet valid');
      if (typeof claims.exp !== 'number' || claims.exp <= nowSec) return new Refusal(1004, 'Authorization has expired');
      return undefined;
    }
    return new Refusal(1000, 'Authentication failed');
  }

  function taskData(task: Task): Record<string, unknown> {
    const ended = task.status === 'succeed' || task.status === 'failed';
    return {
      task_id: task.taskId,
      task_status: task.status,
      task_status_msg: task.statusMsg,
      task_info: { ...(task.externalTaskId !== undefined && { external_task_id: task.externalTaskId }), ...(task.parentVideo && { parent_video: task.parentVideo }) },
      task_result: task.status === 'succeed' ? (IMAGE_ENDPOINTS.has(task.endpoint) ? { images: task.images } : { videos: task.videos }) : {},
      watermark_info: { enabled: false },
      ...(ended && {
        final_unit_deduction: task.status === 'succeed' ? (chargeOverride ?? formatUnits(task.costMc)) : '0',
      }),
      created_at: task.createdAt,
      updated_at: task.updatedAt,
    };
  }

  /** Kling POSTs the bare task object (legacy callback, reference §3.4) on every status change. */
  function notify(task: Task): void {
    if (!task.callbackUrl) return;
    const target = task.callbackUrl;
    const body = JSON.stringify(taskData(task));
    const status = task.status;
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (options.webhookSecret) {
      const id = `msg_${randomUUID()}`;
      const ts = Math.floor(now() / 1000);
      Object.assign(headers, { 'webhook-id': id, 'webhook-timestamp': String(ts), 'webhook-signature': signWebhook(options.webhookSecret, id, ts, body) });
    }
    task.delivery = task.delivery.then(async () => {
      const record: DeliveredCallback = { url: target, taskId: task.taskId, status };
      callbacks.push(record);
      try {
        const response = await fetch(target, { method: 'POST', headers, body, signal: AbortSignal.timeout(5_000) });
        record.httpStatus = response.status;
        await response.arrayBuffer();
      } catch (error) {
        record.error = (error as Error).message;
      }
    });
  }

  function move(task: Task, status: KlingTaskStatus): void {
    if (status === 'succeed' || status === 'failed') {
      slotsInUse -= task.slots; // released the moment it ends, failed included
      tasksInFlight -= 1;
    }
    task.status = status;
    task.updatedAt = now();
    notify(task);
  }

  /** The failure a task ends with when its timer runs out: an injected one, else every (1/failRate)th task. */
  function scheduledFailure(task: Task): string | undefined {
    if (task.willFail || failRate <= 0) return task.willFail;
    failDebt += failRate;
    if (failDebt < 1) return undefined;
    failDebt -= 1;
    return 'Task failed: generation error, please try again';
  }

  function finish(task: Task, reason: string | undefined): void {
    if (reason) {
      task.statusMsg = reason;
      return move(task, 'failed');
    }
    const duration = task.parentVideo
      ? String(Number(task.parentVideo.duration) + 5)
      : String(task.request.body.duration ?? '5');
    if (IMAGE_ENDPOINTS.has(task.endpoint)) {
      task.images = Array.from({ length: task.slots }, (_, index) => ({ index, url: `${url}${served(`/media/${task.taskId}-${index}.png`)}` }));
    } else {
      const id = randomUUID();
      const video = { id, url: `${url}${served(`/media/${id}.mp4`)}`, duration };
      task.videos = [video];
      videos.set(id, { task, duration, url: video.url });
    }
    balanceMc = Math.max(0, balanceMc - task.costMc); // units go only for a task that succeeded (reference §6.6)
    move(task, 'succeed');
  }

  function validate(endpoint: KlingEndpoint, body: Record<string, unknown>): void {
    for (const field of STRING_FIELDS) {
      if (body[field] !== undefined && typeof body[field] !== 'string') throw new Refusal(1201, `${field} must be a string`);
    }
    for (const field of ['prompt', 'negative_prompt']) {
      if (typeof body[field] === 'string' && promptLength(body[field] as string) > MAX_PROMPT_CHARS) throw new Refusal(1201, `${field} size must be between 0 and ${MAX_PROMPT_CHARS}`);
    }
    const need = (field: string) => {
      if (typeof body[field] !== 'string' || body[field] === '') throw new Refusal(1201, `${field} is required`);
    };
    if (endpoint === 'text2video' || endpoint === 'images/generations') need('prompt');
    if (endpoint === 'image2video' && !body.image && !body.image_tail) throw new Refusal(1201, 'image or image_tail is required');
    if (endpoint === 'video-extend') need('video_id');
    if (endpoint === 'kolors-virtual-try-on') {
      need('human_image');
      need('cloth_image');
    }
    if (body.n !== undefined && (!Number.isInteger(body.n) || (body.n as number) < 1 || (body.n as number) > 9)) throw new Refusal(1201, 'n must be an integer between 1 and 9');
    if (body.callback_url !== undefined && !/^https?:\/\//.test(body.callback_url as string)) throw new Refusal(1201, 'callback_url must be an http(s) URL');
    if (body.external_task_id !== undefined && byExternal.has(body.external_task_id as string)) {
      throw new Refusal(1201, `external_task_id ${body.external_task_id} already exists`);
    }
  }

  function quote(request: PricedRequest) {
    try {
      return catalog.quote(request);
    } catch (error) {
      if (!(error instanceof PricingError)) throw error;
      if (error.reason === 'unknown_model') throw new Refusal(1203, `model is not supported: ${String(request.body.model_name)}`);
      throw new Refusal(1201, `${error.field ?? 'request'} is invalid: ${error.message}`);
    }
  }

  function create(endpoint: KlingEndpoint, body: unknown, fault?: FaultKind): Record<string, unknown> {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new Refusal(1200, 'request body must be a JSON object');
    const input = body as Record<string, unknown>;
    validate(endpoint, input);
    if (fault === 'policy') throw new Refusal(1301, 'Failure to pass the risk control system');
    let parent: { task: Task; duration: string; url: string } | undefined;
    if (endpoint === 'video-extend') {
      parent = videos.get(input.video_id as string);
      if (!parent) throw new Refusal(1201, `video_id ${String(input.video_id)} does not exist`);
    }
    const { credits, request } = quote({
      endpoint,
      body: input,
      ...(parent && { source: { model_name: String(parent.task.request.source?.model_name ?? parent.task.request.body.model_name), mode: (parent.task.request.source?.mode ?? parent.task.request.body.mode) as string | undefined } }),
    });
    if (credits > balanceMc) throw new Refusal(1102, 'Resource pack exhausted or expired');
    // Kling's concurrency rule: an image task holds one slot per image (n), anything else one.
    const slots = endpoint === 'images/generations' ? Number(request.body.n ?? input.n ?? 1) : 1;
    if (slotsInUse + slots > concurrency) throw new Refusal(1303, 'parallel task over resource pack limit');
    const at = now();
    const task: Task = {
      taskId: taskId(),
      externalTaskId: input.external_task_id as string | undefined,
      endpoint,
      body: input,
      status: 'submitted',
      statusMsg: '',
      createdAt: at,
      updatedAt: at,
      slots,
      costMc: credits,
      willFail: fault === 'fail-task' ? RISK_CONTROL_MESSAGE : undefined,
      request,
      parentVideo: parent && { id: input.video_id as string, url: parent.url, duration: parent.duration },
      videos: [],
      images: [],
      callbackUrl: input.callback_url as string | undefined,
      delivery: Promise.resolve(),
      queries: 0,
    };
    tasks.set(task.taskId, task);
    if (task.externalTaskId !== undefined) byExternal.set(task.externalTaskId, task);
    slotsInUse += slots;
    tasksInFlight += 1;
    peak = Math.max(peak, tasksInFlight);
    notify(task);
    task.timer = later(queuedMs, () => {
      move(task, 'processing');
      task.timer = later(processingMs, () => finish(task, scheduledFailure(task)));
    });
    return { task_id: task.taskId, task_status: task.status, task_info: task.externalTaskId !== undefined ? { external_task_id: task.externalTaskId } : {}, created_at: at, updated_at: at };
  }

  function find(endpoint: KlingEndpoint, id: string, byExternalOnly: boolean): Task {
    const task = (byExternalOnly ? undefined : tasks.get(id)) ?? byExternal.get(id);
    if (!task || task.endpoint !== endpoint) throw new Refusal(1203, `task not found: ${id}`);
    task.queries += 1;
    return task;
  }

  function accountCosts(query: URLSearchParams): Record<string, unknown> {
    for (const field of ['start_time', 'end_time']) {
      if (!/^\d+$/.test(query.get(field) ?? '')) throw new Refusal(1201, `${field} is required (milliseconds)`);
    }
    return {
      code: 0,
      msg: 'success',
      resource_pack_subscribe_infos: [
        {
          resource_pack_name: 'Video Generation - simulator pack',
          resource_pack_id: 'sim-pack-1',
          resource_pack_type: 'decreasing_total',
          total_quantity: initialMc / 1000,
          remaining_quantity: balanceMc / 1000,
          purchase_time: startedAt,
          effective_time: startedAt,
          invalid_time: startedAt + 180 * 24 * 3600 * 1000,
          status: balanceMc > 0 ? 'online' : 'runOut',
        },
      ],
    };
  }

  /** Routes an authenticated request to its answer's `data`; throws Refusal for a Kling error. */
  function route(method: string, path: string, query: URLSearchParams, body: unknown, fault?: FaultKind): unknown {
    if (path === '/account/costs') {
      if (method !== 'GET') throw new Refusal(1202, 'The requested method is invalid');
      return accountCosts(query);
    }
    for (const endpoint of ENDPOINTS) {
      const base = ENDPOINT_PATHS[endpoint];
      if (path === base) {
        if (method === 'POST') return create(endpoint, body, fault);
        if (method !== 'GET') break;
        const external = query.get('external_task_id');
        if (external) return taskData(find(endpoint, external, true));
        const pageNum = Number(query.get('pageNum') ?? 1);
        const pageSize = Number(query.get('pageSize') ?? 30);
        if (!(pageNum >= 1 && pageNum <= 1000) || !(pageSize >= 1 && pageSize <= 500)) throw new Refusal(1201, 'pageNum or pageSize is out of range');
        const all = [...tasks.values()].filter((t) => t.endpoint === endpoint).reverse();
        return all.slice((pageNum - 1) * pageSize, pageNum * pageSize).map(taskData);
      }
      if (path.startsWith(`${base}/`) && method === 'GET') {
        // Reference §2.1: the path segment may be the task_id or the external_task_id.
        return taskData(find(endpoint, decodeURIComponent(path.slice(base.length + 1)), false));
      }
    }
    throw new Refusal(1202, `The requested method is invalid: ${method} ${path}`);
  }

  function endpointOf(path: string): string | undefined {
    if (path === '/account/costs') return 'account/costs';
    return ENDPOINTS.find((e) => path === ENDPOINT_PATHS[e] || path.startsWith(`${ENDPOINT_PATHS[e]}/`));
  }

  function takeFault(method: string, path: string): FaultSpec | undefined {
    const endpoint = endpointOf(path);
    const isCreate = method === 'POST' && endpoint !== undefined && endpoint !== 'account/costs';
    const fault = faults.find(
      (f) =>
        f.left > 0 &&
        (!f.method || f.method === method) &&
        (!f.endpoint || f.endpoint === endpoint || (f.endpoint.startsWith('/') && path.startsWith(f.endpoint))) &&
        (!CREATE_ONLY.has(f.kind) || isCreate),
    );
    if (fault) fault.left -= 1;
    return fault;
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch(() => res.socket?.destroy()); // the client went away mid-request
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const parsedUrl = new URL(req.url ?? '/', 'http://sim');
    const path = parsedUrl.pathname;

    if (req.method === 'GET' && media.has(path)) {
      res.writeHead(200, { 'content-type': path.endsWith('.png') ? 'image/png' : 'video/mp4' });
      res.end(`kling-sim media ${path.slice('/media/'.length)}`);
      return;
    }

    let body: unknown = raw;
    let bodyIsJson = raw === '';
    if (raw !== '') {
      try {
        body = JSON.parse(raw);
        bodyIsJson = true;
      } catch {
        /* kept as text; refused below */
      }
    }
    requests.push({ method: req.method ?? '', path: `${path}${parsedUrl.search}`, headers: flatHeaders(req.headers), body: raw === '' ? undefined : body, at: now() });

    const requestId = randomUUID();

    const spec = takeFault(req.method ?? '', path);
    const kind = spec?.kind;
    switch (spec?.kind) {
      case 'hang':
        return; // never answers; close() ends the socket
      case 'slow':
        await new Promise((resolve) => later(spec.delayMs ?? 2_000, () => resolve(undefined)));
        break;
      case 'http5xx': {
        const status = spec.code && spec.code >= 500 ? spec.code : 502;
        res.writeHead(status, { 'content-type': 'text/html' });
        res.end(`<html><body><h1>${status}</h1>upstream error</body></html>`);
        return;
      }
      case 'code': {
        const code = spec.code ?? 5000;
        res.writeHead(KLING_CODES[code]?.httpStatus ?? 500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ code, message: KLING_CODES[code]?.meaning ?? 'injected error', request_id: requestId }));
        return;
      }
    }

    let httpStatus = 200;
    let answer: string;
    try {
      const refusal = authenticate(req.headers.authorization);
      if (refusal) throw refusal;
      if (!bodyIsJson) throw new Refusal(1200, 'request body is not valid JSON');
      const data = route(req.method ?? '', path, parsedUrl.searchParams, body, kind);
      answer = JSON.stringify({ code: 0, message: 'SUCCEED', request_id: requestId, data });
    } catch (error) {
      // A bug in the simulator shows up as Kling's internal error, with what went wrong.
      const refusal = error instanceof Refusal ? error : new Refusal(5000, `Server internal error: ${(error as Error).message}`);
      httpStatus = KLING_CODES[refusal.code]?.httpStatus ?? 400;
      answer = JSON.stringify({ code: refusal.code, message: refusal.message, request_id: requestId });
    }
    // The work is done; these faults lose or garble the answer, so the client cannot tell whether it happened.
    if (kind === 'accept-then-timeout') return;
    if (kind === 'drop') {
      res.socket?.destroy();
      return;
    }
    res.writeHead(httpStatus, { 'content-type': 'application/json' });
    res.end(kind === 'malformed' ? answer.slice(0, Math.max(1, Math.floor(answer.length / 2))) : answer);
  }

  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    requests,
    callbacks,
    tasks: () => [...tasks.values()].map((t) => ({
      taskId: t.taskId, externalTaskId: t.externalTaskId, status: t.status, endpoint: t.endpoint, body: t.body, queries: t.queries,
    })),
    inFlightPeak: () => peak,
    fault: (spec) => {
      faults.push({ ...spec, left: spec.times ?? 1 });
    },
    clearFaults: () => {
      faults = [];
    },
    setBalance: (units) => {
      balanceMc = Math.round(units * 1000);
    },
    setCharge: (units) => {
      chargeOverride = units;
    },
    balance: () => balanceMc / 1000,
    endTask: (id, outcome, message) => {
      const task = tasks.get(id);
      if (!task) throw new Error(`kling-sim: no task ${id}`);
      if (task.status === 'succeed' || task.status === 'failed') return;
      if (task.timer) {
        clearTimeout(task.timer);
        timers.delete(task.timer);
      }
      if (task.status === 'submitted') move(task, 'processing');
      finish(task, outcome === 'failed' ? (message ?? 'Task failed') : undefined);
    },
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.all([...tasks.values()].map((t) => t.delivery));
    },
  };
}
