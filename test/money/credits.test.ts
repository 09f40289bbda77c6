import { describe, expect, it } from 'vitest';
import {
  AmountError,
  formatCredits,
  formatUsd,
  parseCredits,
  parseCreditsRounded,
  sumMc,
  mc,
} from '../../src/money/credits';

describe('credits', () => {
  it('parses decimals exactly', () => {
    expect(parseCredits('2.5')).toBe(2500);
    expect(parseCredits('0.05')).toBe(50);
    expect(parseCredits('0.025')).toBe(25);
    expect(parseCredits(12)).toBe(12000);
    expect(parseCredits(0.1)).toBe(100);
  });

  it('sums without float drift', () => {
    const total = sumMc(Array.from({ length: 10 }, () => parseCredits('0.1')));
    expect(formatCredits(total)).toBe('1');
    expect(formatCredits(sumMc([parseCredits('0.1'), parseCredits('0.2')]))).toBe('0.3');
  });

  it('refuses what is not an amount', () => {
    expect(() => parseCredits('ten')).toThrow(AmountError);
    expect(() => parseCredits('1.0005')).toThrow(AmountError);
  });

  it('rounds Kling precision half up', () => {
    expect(parseCreditsRounded('3.024')).toBe(3024);
    expect(parseCreditsRounded('3.0245')).toBe(3025);
    expect(parseCreditsRounded('3.0244')).toBe(3024);
  });

  it('formats credits and dollars', () => {
    expect(formatCredits(mc(1500))).toBe('1.5');
    expect(formatCredits(mc(1_234_000_000))).toBe('1,234,000');
    expect(formatCredits(mc(-50))).toBe('-0.05');
    expect(formatUsd(parseCredits(10), 0.14)).toBe('$1.40');
    expect(formatUsd(parseCredits('0.025'), 0.14)).toBe('$0.00');
    expect(formatUsd(parseCredits(60000), 0.126)).toBe('$7,560.00');
  });
});
