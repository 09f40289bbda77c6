import { AmountError, parseCredits, type Millicredits } from '../../money/credits';

/** What people type for budgets, read alike by the /kling commands and the App Home's budget modal. */

/** "200", "12.5" or "1,000" credits; undefined for anything else, a negative amount included. */
export function readCredits(text: string): Millicredits | undefined {
  try {
    const amount = parseCredits(text.trim().replace(/,/g, ''));
    if (amount < 0) throw new AmountError('negative');
    return amount;
  } catch {
    return undefined;
  }
}

/** "80,100", "80, 100" or "50% 80%": whole percents from 1 to 100, sorted, each once; undefined otherwise. */
export function readThresholds(text: string): number[] | undefined {
  const parts = text
    .split(/[\s,;]+/)
    .filter(Boolean)
    .map((p) => p.replace(/%$/, ''));
  if (!parts.length || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) >= 1 && Number(p) <= 100)) return undefined;
  return [...new Set(parts.map(Number))].sort((a, b) => a - b);
}
