import { randomBytes, randomUUID } from 'node:crypto';
import {
  isStandardEndpoint,
  MAX_PROMPT_CHARS,
  promptLength,
  type KlingEndpoint,
  type PriceCatalog,
  type PricedRequest,
} from '../../pricing';
import type { KlingTaskStatus } from '../../kling/schema';
import type { Callbacks } from './callbacks';
import type { FaultKind } from './faults';
import type { Media } from './media';
import type { Pack } from './pack';
import { formatUnits, quote } from './pricing';
import { Refusal } from './refusal';
import { standardTaskData } from './standard';

export interface SimulatedTask {
  taskId: string;
  externalTaskId?: string;
  status: KlingTaskStatus;
  endpoint: string;
  body: unknown;
  /** Status queries of this task so far (by task_id or external_task_id). */
  queries: number;
}

export interface TaskRules {
  catalog: PriceCatalog;
  /** Account limit in slots (a video or try-on task holds 1, an image task `n`); 1303 above it. */
  concurrency: number;
  queuedMs: number;
  processingMs: number;
  /** Fraction of tasks that end failed, spread evenly (0.25 → every 4th task). */
  failRate: number;
  now: () => number;
}

interface Video {
  id: string;
  url: string;
  duration: string;
}

export interface Task {
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
  parentVideo?: Video;
  videos: Video[];
  images: { index: number; url: string }[];
  callbackUrl?: string;
  delivery: Promise<void>;
  queries: number;
  /** The next step of its lifecycle. */
  timer?: NodeJS.Timeout;
}

const RISK_CONTROL_MESSAGE =
  'Failure to pass the risk control system: triggering the content risk control of the platform';
const STRING_FIELDS = [
  'model_name',
  'prompt',
  'negative_prompt',
  'mode',
  'duration',
  'sound',
  'aspect_ratio',
  'image',
  'image_tail',
  'video_id',
  'human_image',
  'cloth_image',
  'callback_url',
  'external_task_id',
  'resolution',
];
/** A new-standard body's settings (the legacy bodies have none). */
function settingsOf(task: { request: PricedRequest }): { duration?: number } {
  return (task.request.body.settings ?? {}) as { duration?: number };
}

/** Endpoints whose results are images; the rest make videos. */
const IMAGE_ENDPOINTS: ReadonlySet<KlingEndpoint> = new Set(['images/generations', 'kolors-virtual-try-on'] as const);

const isEnded = (status: KlingTaskStatus) => status === 'succeed' || status === 'failed';

/**
 * Kling's tasks: validation at create, the concurrency slots, the lifecycle submitted → processing → succeed | failed
 * on timers, the callbacks of each change, and the answers of status queries.
 */
export class Tasks {
  private readonly tasks = new Map<string, Task>();
  private readonly byExternal = new Map<string, Task>();
  private readonly videos = new Map<string, { task: Task; duration: string; url: string }>();
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Concurrency slots held by tasks in submitted or processing. */
  private slotsInUse = 0;
  private inFlight = 0;
  private peak = 0;
  private failDebt = 0;
  /** The server's own address, for result links; set once it listens. */
  baseUrl = '';

  constructor(
    private readonly rules: TaskRules,
    private readonly pack: Pack,
    private readonly media: Media,
    private readonly callbacks: Callbacks,
  ) {}

  /** Most tasks in submitted or processing at once (tasks, not slots). */
  inFlightPeak(): number {
    return this.peak;
  }

  summaries(): SimulatedTask[] {
    return [...this.tasks.values()].map((t) => ({
      taskId: t.taskId,
      externalTaskId: t.externalTaskId,
      status: t.status,
      endpoint: t.endpoint,
      body: t.body,
      queries: t.queries,
    }));
  }

  /** A task's answer to a status query: what Kling's `data` holds. */
  data(task: Task): Record<string, unknown> {
    const images = IMAGE_ENDPOINTS.has(task.endpoint);
    return {
      task_id: task.taskId,
      task_status: task.status,
      task_status_msg: task.statusMsg,
      task_info: {
        ...(task.externalTaskId !== undefined && { external_task_id: task.externalTaskId }),
        ...(task.parentVideo && { parent_video: task.parentVideo }),
      },
      task_result: task.status === 'succeed' ? (images ? { images: task.images } : { videos: task.videos }) : {},
      watermark_info: { enabled: false },
      ...(isEnded(task.status) && {
        final_unit_deduction: task.status === 'succeed' ? this.pack.reported(task.costMc) : '0',
      }),
      created_at: task.createdAt,
      updated_at: task.updatedAt,
    };
  }

  create(endpoint: KlingEndpoint, body: unknown, fault?: FaultKind): Record<string, unknown> {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new Refusal(1200, 'request body must be a JSON object');
    }
    const input = body as Record<string, unknown>;
    this.validate(endpoint, input);
    if (fault === 'policy') throw new Refusal(1301, 'Failure to pass the risk control system');
    let parent: { task: Task; duration: string; url: string } | undefined;
    if (endpoint === 'video-extend') {
      parent = this.videos.get(input.video_id as string);
      if (!parent) throw new Refusal(1201, `video_id ${String(input.video_id)} does not exist`);
    }
    const source = parent?.task.request.source;
    const { priceMc: credits, request } = quote(this.rules.catalog, {
      endpoint,
      body: input,
      ...(parent && {
        source: {
          model_name: String(source?.model_name ?? parent.task.request.body.model_name),
          mode: (source?.mode ?? parent.task.request.body.mode) as string | undefined,
        },
      }),
    });
    this.pack.checkAffords(credits, this.rules.now());
    // Kling's concurrency rule: an image task holds one slot per image (n), anything else one.
    const slots = endpoint === 'images/generations' ? Number(request.body.n ?? input.n ?? 1) : 1;
    if (this.slotsInUse + slots > this.rules.concurrency)
      throw new Refusal(1303, 'parallel task over resource pack limit');
    const at = this.rules.now();
    const task: Task = {
      taskId: randomBytes(12).toString('base64url'),
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
    this.tasks.set(task.taskId, task);
    if (task.externalTaskId !== undefined) this.byExternal.set(task.externalTaskId, task);
    this.slotsInUse += slots;
    this.inFlight += 1;
    this.peak = Math.max(this.peak, this.inFlight);
    this.notify(task);
    task.timer = this.later(this.rules.queuedMs, () => {
      this.move(task, 'processing');
      task.timer = this.later(this.rules.processingMs, () => this.finish(task, this.scheduledFailure(task)));
    });
    return {
      task_id: task.taskId,
      task_status: task.status,
      task_info: task.externalTaskId !== undefined ? { external_task_id: task.externalTaskId } : {},
      created_at: at,
      updated_at: at,
    };
  }

  /** A task of this endpoint by task_id or external_task_id (only the latter when `byExternalOnly`). */
  find(endpoint: KlingEndpoint, id: string, byExternalOnly: boolean): Task {
    const task = (byExternalOnly ? undefined : this.tasks.get(id)) ?? this.byExternal.get(id);
    if (!task || task.endpoint !== endpoint) throw new Refusal(1203, `task not found: ${id}`);
    task.queries += 1;
    return task;
  }

  byId(id: string): Task | undefined {
    return this.tasks.get(id);
  }

  byExternalId(id: string): Task | undefined {
    return this.byExternal.get(id);
  }

  /** One page of an endpoint's tasks, newest first. */
  list(endpoint: KlingEndpoint, pageNum: number, pageSize: number): Task[] {
    const all = [...this.tasks.values()].filter((t) => t.endpoint === endpoint).reverse();
    return all.slice((pageNum - 1) * pageSize, pageNum * pageSize);
  }

  /** Ends a task now, through processing as Kling would, whatever its timers say. */
  end(id: string, outcome: 'succeed' | 'failed', message?: string): void {
    const task = this.tasks.get(id);
    if (!task) throw new Error(`kling-sim: no task ${id}`);
    if (isEnded(task.status)) return;
    if (task.timer) {
      clearTimeout(task.timer);
      this.timers.delete(task.timer);
    }
    if (task.status === 'submitted') this.move(task, 'processing');
    this.finish(task, outcome === 'failed' ? (message ?? 'Task failed') : undefined);
  }

  /** Runs `fn` after `ms`, unless the simulator stops first. */
  later(ms: number, fn: () => void): NodeJS.Timeout {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    this.timers.add(timer);
    return timer;
  }

  /** Stops every timer and waits for the callbacks already under way. */
  async stop(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    await Promise.all([...this.tasks.values()].map((t) => t.delivery));
  }

  private validate(endpoint: KlingEndpoint, body: Record<string, unknown>): void {
    for (const field of STRING_FIELDS) {
      if (body[field] !== undefined && typeof body[field] !== 'string')
        throw new Refusal(1201, `${field} must be a string`);
    }
    for (const field of ['prompt', 'negative_prompt']) {
      if (typeof body[field] === 'string' && promptLength(body[field] as string) > MAX_PROMPT_CHARS) {
        throw new Refusal(1201, `${field} size must be between 0 and ${MAX_PROMPT_CHARS}`);
      }
    }
    const need = (field: string) => {
      if (typeof body[field] !== 'string' || body[field] === '') throw new Refusal(1201, `${field} is required`);
    };
    const prompted = endpoint === 'text2video' || endpoint === 'omni-video' || endpoint === 'images/generations';
    if (prompted || isStandardEndpoint(endpoint)) need('prompt');
    if (endpoint === 'image2video' && !body.image && !body.image_tail)
      throw new Refusal(1201, 'image or image_tail is required');
    if (endpoint === 'video-extend') need('video_id');
    if (endpoint === 'kolors-virtual-try-on') {
      need('human_image');
      need('cloth_image');
    }
    const n = body.n as number;
    if (body.n !== undefined && (!Number.isInteger(n) || n < 1 || n > 9))
      throw new Refusal(1201, 'n must be an integer between 1 and 9');
    if (body.callback_url !== undefined && !/^https?:\/\//.test(body.callback_url as string)) {
      throw new Refusal(1201, 'callback_url must be an http(s) URL');
    }
    if (body.external_task_id !== undefined && this.byExternal.has(body.external_task_id as string)) {
      throw new Refusal(1201, `external_task_id ${body.external_task_id} already exists`);
    }
  }

  private notify(task: Task): void {
    if (!task.callbackUrl) return;
    const payload = isStandardEndpoint(task.endpoint)
      ? standardTaskData(task, formatUnits(task.costMc))
      : this.data(task);
    task.delivery = this.callbacks.send(task.delivery, task.callbackUrl, task.taskId, task.status, payload);
  }

  private move(task: Task, status: KlingTaskStatus): void {
    if (isEnded(status)) {
      this.slotsInUse -= task.slots; // released the moment it ends, failed included
      this.inFlight -= 1;
    }
    task.status = status;
    task.updatedAt = this.rules.now();
    this.notify(task);
  }

  /** The failure a task ends with when its timer runs out: an injected one, else every (1/failRate)th task. */
  private scheduledFailure(task: Task): string | undefined {
    if (task.willFail || this.rules.failRate <= 0) return task.willFail;
    this.failDebt += this.rules.failRate;
    if (this.failDebt < 1) return undefined;
    this.failDebt -= 1;
    return 'Task failed: generation error, please try again';
  }

  private finish(task: Task, reason: string | undefined): void {
    if (reason) {
      task.statusMsg = reason;
      return this.move(task, 'failed');
    }
    const duration = task.parentVideo
      ? String(Number(task.parentVideo.duration) + 5)
      : String(task.request.body.duration ?? settingsOf(task).duration ?? 5);
    if (IMAGE_ENDPOINTS.has(task.endpoint)) {
      task.images = Array.from({ length: task.slots }, (_, index) => ({
        index,
        url: `${this.baseUrl}${this.media.add(`${task.taskId}-${index}.png`)}`,
      }));
    } else {
      const id = randomUUID();
      const video = { id, url: `${this.baseUrl}${this.media.add(`${id}.mp4`)}`, duration };
      task.videos = [video];
      this.videos.set(id, { task, duration, url: video.url });
    }
    // Units go only for a task that succeeded.
    const { source, body } = task.request;
    this.pack.charge(
      task.costMc,
      {
        taskId: task.taskId,
        endpoint: task.endpoint,
        duration: task.videos[0]?.duration ?? '0',
        modelName: String(source?.model_name ?? body.model_name ?? ''),
        mode: String(source?.mode ?? body.mode ?? 'std'),
      },
      this.rules.now(),
    );
    this.move(task, 'succeed');
  }
}
