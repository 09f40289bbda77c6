import { describe, expect, it } from 'vitest';
import { drawDown } from '../../src/account/draw-down';
import type { PackView } from '../../src/account';
import { mc } from '../../src/money/credits';

const DAY = 24 * 3600 * 1000;
const now = new Date('2026-12-01T00:00:00Z');
const days = (n: number) => new Date(now.getTime() + n * DAY);

function pack(id: string, credits: number, expiresInDays: number): PackView {
  const amount = mc(credits * 1000);
  return {
    id,
    name: id,
    status: 'online',
    totalMc: amount,
    readMc: amount,
    remainingMc: amount,
    expiresAt: days(expiresInDays),
  };
}

describe('drawDown: how long the packs last at a pace, with expiry', () => {
  it('counts a pack that expires before the pace uses it up as gone at its expiry', () => {
    // 100 a day: 300 of the short pack are spent, 700 expire; the long pack then lasts 10 days.
    const { runsOutAt, expiresUnused } = drawDown([pack('long', 1000, 60), pack('short', 1000, 3)], now, 100_000);
    expect(runsOutAt).toEqual(days(13));
    expect(expiresUnused.map((u) => [u.pack.id, u.amountMc])).toEqual([['short', 700_000]]);
  });

  it('is the plain quotient when every pack is used up before it expires', () => {
    const { runsOutAt, expiresUnused } = drawDown([pack('a', 100, 5), pack('b', 200, 90)], now, 100_000);
    expect(runsOutAt).toEqual(days(3));
    expect(expiresUnused).toEqual([]);
  });

  it('ends at the last expiry when the packs expire before they are spent', () => {
    const { runsOutAt, expiresUnused } = drawDown([pack('a', 1000, 2), pack('b', 1000, 4)], now, 100_000);
    expect(runsOutAt).toEqual(days(4));
    expect(expiresUnused.map((u) => u.amountMc)).toEqual([800_000, 800_000]);
  });

  it('counts a pack the pace does not reach before it expires as wholly unused, even on the same day', () => {
    const { runsOutAt, expiresUnused } = drawDown([pack('a', 1000, 3), pack('b', 1000, 3)], now, 100_000);
    expect(runsOutAt).toEqual(days(3));
    expect(expiresUnused.map((u) => [u.pack.id, u.amountMc])).toEqual([
      ['a', 700_000],
      ['b', 1_000_000],
    ]);
  });

  it('has no run-out without spending, and then every unit left expires unused', () => {
    const { runsOutAt, expiresUnused } = drawDown([pack('a', 10, 2)], now, 0);
    expect(runsOutAt).toBeNull();
    expect(expiresUnused.map((u) => u.amountMc)).toEqual([10_000]);
  });

  it('skips a used-up pack and a pack already expired', () => {
    const spent = { ...pack('spent', 50, 1), remainingMc: mc(0) };
    const { runsOutAt, expiresUnused } = drawDown([spent, pack('old', 50, -1), pack('c', 50, 30)], now, 10_000);
    expect(runsOutAt).toEqual(days(5));
    expect(expiresUnused).toEqual([]);
  });
});
