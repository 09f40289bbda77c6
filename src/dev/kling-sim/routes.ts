import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import { isStandardEndpoint, type LegacyEndpoint } from '../../pricing';
import { ENDPOINT_PATHS } from '../../kling/client';
import { KLING_CODES } from '../../kling/errors';
import { SimAccountError } from './account';
import { authenticate, type KlingKeys } from './auth';
import type { FaultKind, Faults } from './faults';
import type { Media } from './media';
import type { Pack } from './pack';
import { formatUnits } from './pricing';
import { Refusal } from './refusal';
import { routeStandard } from './standard';
import type { Tasks } from './tasks';

export interface RecordedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: unknown;
  at: number;
}

export interface RouteDeps {
  keys: KlingKeys;
  now: () => number;
  tasks: Tasks;
  pack: Pack;
  faults: Faults;
  media: Media;
  /** Every API request, Authorization included, kept in memory for tests; nothing is logged. */
  requests: RecordedRequest[];
}

const ENDPOINTS = Object.keys(ENDPOINT_PATHS) as LegacyEndpoint[];

function flatHeaders(headers: http.IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

function endpointOf(path: string): string | undefined {
  if (path === '/account/costs') return 'account/costs';
  if (path === '/account/billing/package') return 'account/billing/package';
  if (isStandardEndpoint(path.slice(1))) return path.slice(1);
  return ENDPOINTS.find((e) => path === ENDPOINT_PATHS[e] || path.startsWith(`${ENDPOINT_PATHS[e]}/`));
}

/** Routes an authenticated request to its answer's `data`; throws Refusal for a Kling error. */
function route(
  deps: RouteDeps,
  method: string,
  path: string,
  query: URLSearchParams,
  body: unknown,
  fault?: FaultKind,
): unknown {
  const { tasks } = deps;
  if (path === '/account/costs') {
    if (method !== 'GET') throw new Refusal(1202, 'The requested method is invalid');
    return deps.pack.costs(query, deps.now());
  }
  const { account } = deps.pack;
  if (path === '/account/billing/package' && method === 'POST' && account) {
    try {
      return account.billing(body as Record<string, unknown>);
    } catch (error) {
      if (error instanceof SimAccountError) throw new Refusal(1201, error.message);
      throw error;
    }
  }
  for (const endpoint of ENDPOINTS) {
    const base = ENDPOINT_PATHS[endpoint];
    if (path === base) {
      if (method === 'POST') return tasks.create(endpoint, body, fault);
      if (method !== 'GET') break;
      const external = query.get('external_task_id');
      if (external) return tasks.data(tasks.find(endpoint, external, true));
      const pageNum = Number(query.get('pageNum') ?? 1);
      const pageSize = Number(query.get('pageSize') ?? 30);
      if (!(pageNum >= 1 && pageNum <= 1000) || !(pageSize >= 1 && pageSize <= 500)) {
        throw new Refusal(1201, 'pageNum or pageSize is out of range');
      }
      return tasks.list(endpoint, pageNum, pageSize).map((t) => tasks.data(t));
    }
    if (path.startsWith(`${base}/`) && method === 'GET') {
      // The path segment may be the task_id or the external_task_id.
      return tasks.data(tasks.find(endpoint, decodeURIComponent(path.slice(base.length + 1)), false));
    }
  }
  const standard = routeStandard(
    {
      create: (endpoint, input) => tasks.create(endpoint, input, fault) as { task_id: string },
      byId: (id) => tasks.byId(id),
      byExternalId: (id) => tasks.byExternalId(id),
      charged: (task) => (task.status === 'succeed' ? formatUnits(task.costMc) : '0'),
      refuse: (code, message) => new Refusal(code, message),
    },
    method,
    path,
    query,
    body,
  );
  if (standard !== undefined) return standard;
  throw new Refusal(1202, `The requested method is invalid: ${method} ${path}`);
}

/** The simulator's HTTP face: result files, injected faults, then Kling's envelope around the route's answer. */
export function requestHandler(deps: RouteDeps): http.RequestListener {
  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const parsedUrl = new URL(req.url ?? '/', 'http://sim');
    const path = parsedUrl.pathname;
    const method = req.method ?? '';

    // Result files sit on Kling's CDN, outside the API: no key, no envelope, a plain 404 when missing.
    if (method === 'GET' && path.startsWith('/media/')) {
      const file = await deps.media.read(path);
      res.writeHead(file ? 200 : 404, { 'content-type': file?.type ?? 'text/plain' });
      res.end(file?.bytes ?? 'not found');
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
    deps.requests.push({
      method,
      path: `${path}${parsedUrl.search}`,
      headers: flatHeaders(req.headers),
      body: raw === '' ? undefined : body,
      at: deps.now(),
    });

    const requestId = randomUUID();

    const endpoint = endpointOf(path);
    const spec = deps.faults.take(
      method,
      path,
      endpoint,
      method === 'POST' && endpoint !== undefined && !endpoint.startsWith('account/'),
    );
    const kind = spec?.kind;
    switch (spec?.kind) {
      case 'hang':
        return; // never answers; close() ends the socket
      case 'slow':
        await new Promise((resolve) => deps.tasks.later(spec.delayMs ?? 2_000, () => resolve(undefined)));
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
        res.end(
          JSON.stringify({ code, message: KLING_CODES[code]?.meaning ?? 'injected error', request_id: requestId }),
        );
        return;
      }
    }

    let httpStatus = 200;
    let answer: string;
    try {
      const refusal = authenticate(deps.keys, req.headers.authorization, deps.now);
      if (refusal) throw refusal;
      // The new-standard API (3.0 Turbo onwards) takes an API key only, no signed token.
      const standardPath = path === '/tasks' || isStandardEndpoint(path.slice(1));
      if (standardPath && req.headers.authorization !== `Bearer ${deps.keys.apiKey}`) {
        throw new Refusal(1000, 'Authentication failed: this API takes an API key');
      }
      if (!bodyIsJson) throw new Refusal(1200, 'request body is not valid JSON');
      const data = route(deps, method, path, parsedUrl.searchParams, body, kind);
      answer = JSON.stringify({ code: 0, message: 'SUCCEED', request_id: requestId, data });
    } catch (error) {
      // A bug in the simulator shows up as Kling's internal error, with what went wrong.
      const refusal =
        error instanceof Refusal ? error : new Refusal(5000, `Server internal error: ${(error as Error).message}`);
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

  return (req, res) => {
    handle(req, res).catch(() => res.socket?.destroy()); // the client went away mid-request
  };
}
