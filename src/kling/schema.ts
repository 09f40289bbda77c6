import { z } from 'zod';

/** Kling's legacy task shapes ({code, message, data} envelopes). Unknown fields pass through untouched; what we read is checked. */

const taskStatusSchema = z.enum(['submitted', 'processing', 'succeed', 'failed']);
export type KlingTaskStatus = z.infer<typeof taskStatusSchema>;

const videoSchema = z.object({
  id: z.string(),
  url: z.string(),
  duration: z.string().optional(),
  watermark_url: z.string().optional(),
});
const imageSchema = z.object({ index: z.number().int(), url: z.string(), watermark_url: z.string().optional() });

/** `data` of a create or query answer, and the whole body of a legacy callback. */
export const taskDataSchema = z.object({
  task_id: z.string().min(1),
  task_status: taskStatusSchema,
  task_status_msg: z.string().nullish(),
  task_info: z
    .object({
      external_task_id: z.string().nullish(),
      parent_video: z.object({ id: z.string(), url: z.string(), duration: z.string().optional() }).nullish(),
    })
    .nullish(),
  task_result: z.object({ videos: z.array(videoSchema).nullish(), images: z.array(imageSchema).nullish() }).nullish(),
  final_unit_deduction: z.string().nullish(),
  created_at: z.number().nullish(),
  updated_at: z.number().nullish(),
});
export type KlingTaskData = z.infer<typeof taskDataSchema>;

/** `{code, message, request_id, data}`; `data` is absent on errors and checked separately on success. */
export const envelopeSchema = z.object({
  code: z.number().int(),
  message: z.string().nullish(),
  request_id: z.string().nullish(),
  data: z.unknown().optional(),
});

/** GET /account/costs: a second {code, msg} wrapper inside `data`. */
export const accountCostsSchema = z.object({
  code: z.number().int(),
  msg: z.string().nullish(),
  resource_pack_subscribe_infos: z
    .array(
      z.object({
        resource_pack_name: z.string(),
        resource_pack_id: z.string().optional(),
        resource_pack_type: z.string().optional(),
        total_quantity: z.number(),
        remaining_quantity: z.number(),
        purchase_time: z.number().optional(),
        effective_time: z.number().optional(),
        invalid_time: z.number(),
        status: z.string(),
      }),
    )
    .default([]),
});

/** POST /account/billing/package: one page of per-task unit deductions. Amounts may be strings. */
const units = z.union([
  z.number(),
  z
    .string()
    .regex(/^-?\d+(\.\d+)?$/)
    .transform(Number),
]);
export const billingPackageSchema = z.object({
  result: z.object({
    detail: z
      .array(
        z.object({
          task_id: z.string(),
          package_id: z.string().nullish(),
          model_name: z.string().nullish(),
          product_function: z.string().nullish(),
          deduction_time: z.union([z.number(), z.string().regex(/^\d+$/).transform(Number)]),
          deduction_amount: units,
        }),
      )
      .default([]),
  }),
  next_cursor: z.string().nullish(),
  has_more: z.boolean().nullish(),
});

/** A task as the rest of the bot sees it (interfaces.md). */
export interface KlingTask {
  taskId: string;
  externalTaskId?: string;
  status: KlingTaskStatus;
  /** task_status_msg: the failure reason (the envelope's `message` says "SUCCEED" even for a failed task). */
  statusMessage?: string;
  videos: { id: string; url: string; duration?: string }[];
  images: { index: number; url: string }[];
  /** Kling's actual charge in units, e.g. "2.5". */
  finalUnitDeduction?: string;
  createdAt?: number;
  updatedAt?: number;
}

export function toKlingTask(data: KlingTaskData): KlingTask {
  return {
    taskId: data.task_id,
    externalTaskId: data.task_info?.external_task_id ?? undefined,
    status: data.task_status,
    statusMessage: data.task_status_msg || undefined,
    videos: (data.task_result?.videos ?? []).map(({ id, url, duration }) => ({
      id,
      url,
      ...(duration !== undefined && { duration }),
    })),
    images: (data.task_result?.images ?? []).map(({ index, url }) => ({ index, url })),
    finalUnitDeduction: data.final_unit_deduction ?? undefined,
    createdAt: data.created_at ?? undefined,
    updatedAt: data.updated_at ?? undefined,
  };
}
