/**
 * Credits are Kling units. Every amount in the bot is an integer number of millicredits
 * (1 credit = 1000), so sums never drift: Kling prices go down to 0.05 and image units to 0.025.
 */
export type Millicredits = number;

export const MILLI = 1000;

export class AmountError extends Error {
  override name = 'AmountError';
}

/** Parses "2.5", "0.05", "12" (or an integer) into millicredits exactly; more than 3 decimals is refused. */
export function parseCredits(value: string | number): Millicredits {
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) return parseCredits(String(value));
    return value * MILLI;
  }
  const text = value.trim();
  const match = /^(-)?(\d+)(?:\.(\d{1,3}))?$/.exec(text);
  if (!match) throw new AmountError(`"${value}" is not an amount of credits (use a number such as 100 or 2.5)`);
  const [, sign, whole, frac = ''] = match;
  const amount = Number(whole) * MILLI + Number(frac.padEnd(3, '0'));
  return sign ? -amount : amount;
}

/** Parses a decimal that may carry more precision than a millicredit (Kling's "5.04" seconds, "3.024" units), rounding half up. */
export function parseCreditsRounded(value: string): Millicredits {
  const match = /^(-)?(\d+)(?:\.(\d+))?$/.exec(value.trim());
  if (!match) throw new AmountError(`"${value}" is not a decimal amount`);
  const [, sign, whole, frac = ''] = match;
  const kept = Number(whole) * MILLI + Number(frac.slice(0, 3).padEnd(3, '0'));
  const roundUp = frac.length > 3 && Number(frac[3]) >= 5 ? 1 : 0;
  return (sign ? -1 : 1) * (kept + roundUp);
}

/** "2.5", "0.05", "12": the shortest exact decimal. */
export function formatCredits(amount: Millicredits): string {
  const sign = amount < 0 ? '-' : '';
  const abs = Math.abs(amount);
  const whole = Math.floor(abs / MILLI);
  const frac = String(abs % MILLI).padStart(3, '0').replace(/0+$/, '');
  return `${sign}${whole.toLocaleString('en-US')}${frac ? `.${frac}` : ''}`;
}

/** Dollar value at the configured price per credit, rounded to cents: "$1.40". */
export function formatUsd(amount: Millicredits, creditPriceUsd: number): string {
  const cents = Math.round((amount * Math.round(creditPriceUsd * 10_000)) / (MILLI * 100));
  const sign = cents < 0 ? '-' : '';
  const abs = Math.abs(cents);
  return `${sign}$${Math.floor(abs / 100).toLocaleString('en-US')}.${String(abs % 100).padStart(2, '0')}`;
}
