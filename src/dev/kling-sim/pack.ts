import type { SimAccount, SimCharge } from './account';
import { formatUnits } from './pricing';
import { Refusal } from './refusal';

/**
 * The account's prepaid units: units go only for a task that succeeded; 1102 when a request costs more than what is
 * left. With a SimAccount, its packs (which expire, and are reported with a lag) also bound and record each charge.
 */
export class Pack {
  private readonly initialMc: number;
  private balanceMc: number;
  /** What final_unit_deduction says instead of the real cost, when a test has set it. */
  chargeOverride: string | undefined;

  constructor(
    units: number,
    private readonly startedAt: number,
    readonly account?: SimAccount,
  ) {
    this.initialMc = Math.round(units * 1000);
    this.balanceMc = this.initialMc;
  }

  /** Units left. */
  get units(): number {
    return this.balanceMc / 1000;
  }

  set units(units: number) {
    this.balanceMc = Math.round(units * 1000);
  }

  /** Refuses a request that costs more than what is left (at `at`, in the account's packs). */
  checkAffords(costMc: number, at: number): void {
    if (costMc > this.balanceMc || (this.account && costMc > this.account.available(at) * 1000)) {
      throw new Refusal(1102, 'Resource pack exhausted or expired');
    }
  }

  /** The final_unit_deduction of a task that succeeded at this cost. */
  reported(costMc: number): string {
    return this.chargeOverride ?? formatUnits(costMc);
  }

  /** Draws a succeeded task's cost, and records it in the account's billing when there is one. */
  charge(costMc: number, task: Omit<SimCharge, 'units'>, at: number): void {
    this.balanceMc = Math.max(0, this.balanceMc - costMc);
    this.account?.charge({ ...task, units: costMc / 1000 }, at);
  }

  /** GET /account/costs: the pack as Kling lists it, between start_time and end_time (milliseconds). */
  costs(query: URLSearchParams, at: number): Record<string, unknown> {
    for (const field of ['start_time', 'end_time']) {
      if (!/^\d+$/.test(query.get(field) ?? '')) throw new Refusal(1201, `${field} is required (milliseconds)`);
    }
    if (this.account) return this.account.costs(at);
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
