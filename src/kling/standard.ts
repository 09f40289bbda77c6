import { z } from 'zod';
import { formatCredits, parseCreditsRounded } from '../money/credits';
import type { KlingTask, KlingTaskStatus } from './schema';

/**
 * Kling's new-standard API (model in the path, `{prompt, settings, options}` bodies, `GET /tasks`), as the
 * same KlingTask the legacy API gives, so the worker sees one shape whichever API made the video.
 */

const STATUS: Readonly<Record<string, KlingTaskStatus>> = {
  submitted: 'submitted',
  processing: 'processing',
  succeeded: 'succeed',
  failed: 'failed',
};

const amount = z.union([z.string(), z.number()]).transform(String);

/** `data` of a create answer, one item of a `GET /tasks` answer, and a new-standard callback body. */
export const standardTaskSchema = z.object({
  id: z.string().min(1),
  status: z.enum(['submitted', 'processing', 'succeeded', 'failed']),
  message: z.string().nullish(),
  create_time: z.number().nullish(),
  update_time: z.number().nullish(),
  external_id: z.string().nullish(),
  outputs: z
    .array(
      z.object({
        id: z.string().nullish(),
        url: z.string().nullish(),
        duration: amount.nullish(),
        type: z.string().nullish(),
      }),
    )
    .nullish(),
  billing: z
    .array(
      z.object({ charge_type: z.string(), amount, package_type: z.string().nullish(), list_price: amount.nullish() }),
    )
    .nullish(),
});
export type StandardTaskData = z.infer<typeof standardTaskSchema>;

/**
 * Kling's charge in units, added up over the billing[] lines paid from a pack (charge_type "unit"). A task
 * paid in cash has no unit line; the charge is then unknown and the caller keeps its estimate.
 */
function unitsCharged(billing: StandardTaskData['billing']): string | undefined {
  const lines = (billing ?? []).filter((line) => line.charge_type === 'unit');
  if (lines.length <= 1) return lines[0]?.amount;
  try {
    return formatCredits(lines.reduce((sum, line) => sum + parseCreditsRounded(line.amount), 0)).replace(/,/g, '');
  } catch {
    return undefined; // an unreadable line: the charge is unknown and the estimate stands
  }
}

export function standardToKlingTask(data: StandardTaskData): KlingTask {
  const videos = (data.outputs ?? [])
    .filter((o) => typeof o.url === 'string' && (o.type ?? 'video') === 'video')
    .map((o, i) => ({
      id: o.id ?? `${data.id}-${i}`,
      url: o.url!,
      ...(o.duration != null && { duration: o.duration }),
    }));
  return {
    taskId: data.id,
    externalTaskId: data.external_id ?? undefined,
    status: STATUS[data.status]!,
    statusMessage: data.status === 'failed' ? data.message || undefined : undefined,
    videos,
    images: [],
    finalUnitDeduction:
      data.status === 'succeeded' ? unitsCharged(data.billing) : data.status === 'failed' ? '0' : undefined,
    createdAt: data.create_time ?? undefined,
    updatedAt: data.update_time ?? undefined,
  };
}

/** The worker's body (external_task_id and callback_url at the top, as on the legacy API), both moved into `options`. */
export function standardCreateBody(body: Record<string, unknown>): Record<string, unknown> {
  const { external_task_id: externalTaskId, callback_url: callbackUrl, options, ...rest } = body;
  return {
    ...rest,
    options: {
      ...(typeof options === 'object' && options !== null ? options : {}),
      ...(externalTaskId !== undefined && { external_task_id: externalTaskId }),
      ...(callbackUrl !== undefined && { callback_url: callbackUrl }),
    },
  };
}

/** `GET /tasks?task_ids=…` or `?external_task_ids=…` for one task. */
export function standardQueryPath(id: { taskId: string } | { externalTaskId: string }): string {
  return 'taskId' in id
    ? `/tasks?task_ids=${encodeURIComponent(id.taskId)}`
    : `/tasks?external_task_ids=${encodeURIComponent(id.externalTaskId)}`;
}
