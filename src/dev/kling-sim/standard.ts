import { isStandardEndpoint, type StandardEndpoint } from '../../pricing';
import type { KlingTaskStatus } from '../../kling/schema';

/**
 * The simulator's new-standard API: `POST /text-to-video/<model>` with `{prompt, settings, options}`, and
 * `GET /tasks?task_ids=…|external_task_ids=…`, answering Kling's own shapes (`id`, `status`, `outputs[]`,
 * `billing[]`). Tasks live in the simulator's one task table, so the pack, concurrency and faults apply alike.
 */

export interface StandardSimTask {
  taskId: string;
  externalTaskId?: string;
  endpoint: string;
  status: KlingTaskStatus;
  statusMsg: string;
  createdAt: number;
  updatedAt: number;
  videos: { id: string; url: string; duration: string }[];
}

export interface StandardSimDeps<T extends StandardSimTask> {
  /** The simulator's create, given the body with options' external_task_id and callback_url at the top. */
  create(endpoint: StandardEndpoint, body: Record<string, unknown>): { task_id: string };
  byId(id: string): T | undefined;
  byExternalId(id: string): T | undefined;
  /** Units charged, as Kling writes them ("4", "2.5"). */
  charged(task: T): string;
  refuse(code: number, message: string): unknown;
}

const STATUS: Readonly<Record<KlingTaskStatus, string>> = {
  submitted: 'submitted',
  processing: 'processing',
  succeed: 'succeeded',
  failed: 'failed',
};

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A task as the new standard answers it, on query and in callbacks. */
export function standardTaskData(task: StandardSimTask, charged: string): Record<string, unknown> {
  return {
    id: task.taskId,
    status: STATUS[task.status],
    message: task.statusMsg,
    create_time: task.createdAt,
    update_time: task.updatedAt,
    ...(task.externalTaskId !== undefined && { external_id: task.externalTaskId }),
    outputs:
      task.status === 'succeed'
        ? task.videos.map((v) => ({ type: 'video', id: v.id, url: v.url, duration: v.duration }))
        : [],
    // A failed task costs nothing, so it has no billing line.
    billing: task.status === 'succeed' ? [{ charge_type: 'unit', amount: charged, package_type: 'video' }] : [],
  };
}

/** The answer's `data` for a new-standard path, or undefined when the path is not one. */
export function routeStandard<T extends StandardSimTask>(
  deps: StandardSimDeps<T>,
  method: string,
  path: string,
  query: URLSearchParams,
  body: unknown,
): unknown {
  const endpoint = path.slice(1);
  if (isStandardEndpoint(endpoint)) {
    if (method !== 'POST') throw deps.refuse(1202, `The requested method is invalid: ${method} ${path}`);
    if (!isObject(body)) throw deps.refuse(1200, 'request body must be a JSON object');
    if (body.options !== undefined && !isObject(body.options)) throw deps.refuse(1201, 'options must be an object');
    const { options = {}, ...rest } = body as { options?: Record<string, unknown> };
    const created = deps.create(endpoint, {
      ...rest,
      ...(options.external_task_id !== undefined && { external_task_id: options.external_task_id }),
      ...(options.callback_url !== undefined && { callback_url: options.callback_url }),
    });
    const task = deps.byId(created.task_id)!;
    return {
      id: task.taskId,
      status: STATUS[task.status],
      create_time: task.createdAt,
      update_time: task.updatedAt,
      external_id: task.externalTaskId,
    };
  }
  if (path !== '/tasks') return undefined;
  if (method !== 'GET') throw deps.refuse(1202, `The requested method is invalid: ${method} ${path}`);
  const ids = query.get('task_ids');
  const external = query.get('external_task_ids');
  if ((ids === null) === (external === null))
    throw deps.refuse(1201, 'exactly one of task_ids or external_task_ids is required');
  const wanted = (ids ?? external)!.split(',').filter((id) => id !== '');
  return wanted
    .map((id) => (ids !== null ? deps.byId(id) : deps.byExternalId(id)))
    .filter((task): task is T => task !== undefined && isStandardEndpoint(task.endpoint))
    .map((task) => standardTaskData(task, deps.charged(task)));
}
