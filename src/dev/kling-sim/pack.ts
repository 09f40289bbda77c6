import { formatUnits } from './pricing';
import { Refusal } from './refusal';

/** The account's prepaid resource pack: units go only for a task that succeeded; 1102 when a request costs more. */
export class Pack {
  private readonly initialMc: number;
  private balanceMc: number;
  private readonly startedAt: number;
  /** What final_unit_deduction says instead of the real cost, when a test has set it. */
  chargeOverride: string | undefined;

  constructor(units: number, now: () => number) {
    this.initialMc = Math.round(units * 1000);
    this.balanceMc = this.initialMc;
    this.startedAt = now();
  }

  /** Units left. */
  get units(): number {
    return this.balanceMc / 1000;
  }

  set units(units: number) {
    this.balanceMc = Math.round(units * 1000);
  }

  /** Refuses a request that costs more than what is left. */
  checkAffords(costMc: number): void {
    if (costMc > this.balanceMc) throw new Refusal(1102, 'Resource pack exhausted or expired');
  }

  /** The final_unit_deduction of a task that succeeded at this cost. */
  reported(costMc: number): string {
    return this.chargeOverride ?? formatUnits(costMc);
  }

  charge(costMc: number): void {
    this.balanceMc = Math.max(0, this.balanceMc - costMc);
  }

  /** GET /account/costs: the pack as Kling lists it, between start_time and end_time (milliseconds). */
  costs(query: URLSearchParams): Record<string, unknown> {
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
          total_quantity: this.initialMc / 1000,
          remaining_quantity: this.balanceMc / 1000,
          purchase_time: this.startedAt,
          effective_time: this.startedAt,
          invalid_time: this.startedAt + 180 * 24 * 3600 * 1000,
          status: this.balanceMc > 0 ? 'online' : 'runOut',
        },
      ],
    };
  }
}
