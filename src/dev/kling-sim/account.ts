/**
 * The simulator's Kling account: prepaid packs that run low and expire, GET /account/costs, and the per-task
 * deduction records of POST /account/billing/package. Units are drawn from the pack that expires first, and
 * /account/costs reports what was left `costsLagMs` ago, as Kling's figure lags by up to 12 hours.
 */

interface SimPack {
  id: string;
  name?: string;
  units: number;
  /** invalid_time, ms. */
  expiresAt: number;
  /** purchase/effective time, ms (default: the simulator's start). */
  startsAt?: number;
}

export interface SimAccountOptions {
  packs: SimPack[];
  /** How old the remaining figure of /account/costs is (default 0). */
  costsLagMs?: number;
}

export interface SimBillingRecord {
  taskId: string;
  packageId: string;
  productFunction: string;
  modelName: string;
  resolution: string;
  duration: string;
  deductionTime: number;
  unitBefore: number;
  amount: number;
  unitAfter: number;
}

/** What the tasks tell the account about a task that succeeded. */
export interface SimCharge {
  taskId: string;
  endpoint: string;
  modelName: string;
  mode: string;
  duration: string;
  units: number;
}

interface PackState extends Required<SimPack> {
  remaining: number;
}

const FUNCTIONS: Record<string, string> = {
  text2video: 'Text to Video',
  image2video: 'Image to Video',
  'video-extend': 'Video Extension',
  'images/generations': 'Image Generation',
  'kolors-virtual-try-on': 'Virtual Try-On',
};

const round = (units: number) => Math.round(units * 1000) / 1000;

/** A request the account endpoints refuse (kling-sim answers it with 1201). */
export class SimAccountError extends Error {}

export class SimAccount {
  private readonly packs: PackState[];
  private readonly records: SimBillingRecord[] = [];

  constructor(
    private readonly options: SimAccountOptions,
    startedAt: number,
  ) {
    this.packs = options.packs.map((p) => ({
      name: `Video Generation - ${p.units} units`,
      startsAt: startedAt,
      ...p,
      remaining: p.units,
    }));
  }

  /** Units that can still be spent at `at`: online packs only. */
  available(at: number): number {
    return round(this.packs.filter((p) => p.startsAt <= at && at < p.expiresAt).reduce((s, p) => s + p.remaining, 0));
  }

  /** Takes the units from the packs that expire first, and records the deduction. */
  charge(charge: SimCharge, at: number): void {
    let owed = charge.units;
    for (const pack of [...this.packs].sort((a, b) => a.expiresAt - b.expiresAt)) {
      if (owed <= 0) break;
      if (pack.startsAt > at || at >= pack.expiresAt || pack.remaining <= 0) continue;
      const amount = round(Math.min(owed, pack.remaining));
      this.record(charge, pack, amount, at);
      owed = round(owed - amount);
    }
  }

  /** A deduction the bot never asked for (or a different amount for a task it did): for reconciliation tests. */
  recordCharge(
    charge: Omit<SimCharge, 'endpoint' | 'modelName' | 'mode' | 'duration'> & Partial<SimCharge>,
    at: number,
  ): void {
    const pack = this.packs[0]!;
    this.record(
      { endpoint: 'text2video', modelName: 'kling-v2-5-turbo', mode: 'std', duration: '5', ...charge },
      pack,
      charge.units,
      at,
    );
  }

  /** Changes what Kling says it charged for a task (the pack is left as it was). */
  rewriteCharge(taskId: string, units: number): void {
    for (const r of this.records.filter((x) => x.taskId === taskId)) r.amount = units;
  }

  private record(charge: SimCharge, pack: PackState, amount: number, at: number): void {
    const before = pack.remaining;
    pack.remaining = round(before - amount);
    this.records.push({
      taskId: charge.taskId,
      packageId: pack.id,
      productFunction: FUNCTIONS[charge.endpoint] ?? charge.endpoint,
      modelName: charge.modelName,
      resolution: charge.mode === 'pro' ? '1080p' : charge.mode === '4k' ? '4k' : '720p',
      duration: charge.duration,
      deductionTime: at,
      unitBefore: before,
      amount,
      unitAfter: pack.remaining,
    });
  }

  /** `data` of GET /account/costs: each pack with what was left `costsLagMs` ago. */
  costs(at: number): Record<string, unknown> {
    const asOf = at - (this.options.costsLagMs ?? 0);
    return {
      code: 0,
      msg: 'success',
      resource_pack_subscribe_infos: this.packs.map((p) => {
        const spentSince = this.records
          .filter((r) => r.packageId === p.id && r.deductionTime > asOf)
          .reduce((s, r) => s + r.amount, 0);
        const remaining = round(p.remaining + spentSince);
        const status =
          at >= p.expiresAt ? 'expired' : p.startsAt > at ? 'toBeOnline' : remaining <= 0 ? 'runOut' : 'online';
        return {
          resource_pack_name: p.name,
          resource_pack_id: p.id,
          resource_pack_type: 'decreasing_total',
          total_quantity: p.units,
          remaining_quantity: remaining,
          purchase_time: p.startsAt,
          effective_time: p.startsAt,
          invalid_time: p.expiresAt,
          status,
        };
      }),
    };
  }

  /** `data` of POST /account/billing/package: deductions in [start_time, end_time], `limit` a page, cursor-paged. */
  billing(body: Record<string, unknown>): Record<string, unknown> {
    const limit = Math.min(500, Number(body.limit ?? 500));
    let from = 0;
    let start: number;
    let end: number;
    if (typeof body.cursor === 'string' && body.cursor !== '') {
      [start, end, from] = body.cursor.split(':').map(Number) as [number, number, number];
    } else {
      start = Number(body.start_time);
      end = Number(body.end_time);
      if (!(start >= 0 && end >= start))
        throw new SimAccountError('start_time and end_time are required (milliseconds)');
    }
    const all = this.records.filter((r) => r.deductionTime >= start && r.deductionTime <= end);
    const page = all.slice(from, from + limit);
    const more = from + limit < all.length;
    return {
      result: {
        count: page.length,
        detail: page.map((r) => ({
          package_id: r.packageId,
          product_type: 'video',
          task_id: r.taskId,
          api_key_name: 'simulator',
          product_function: r.productFunction,
          model_name: r.modelName,
          resolution: r.resolution,
          duration: r.duration,
          refer_video_input: false,
          video_sound: 'off',
          voice_control: false,
          deduction_time: String(r.deductionTime),
          unit_before_deduction: r.unitBefore,
          deduction_amount: r.amount,
          unit_after_deduction: r.unitAfter,
        })),
      },
      has_more: more,
      ...(more && { next_cursor: `${start}:${end}:${from + limit}` }),
    };
  }
}
