/**
 * Credits are Kling units. Every amount in the bot is an integer number of millicredits
 * (1 credit = 1000), so sums never drift: Kling prices go down to 0.05 and image units to 0.025.
 */
export type Millicredits = number & { readonly __brand: 'Millicredits' };

export const MILLI = 1000;

/**
 * A trusted integer count of millicredits: a constant, or a column read from the database (postgres returns
 * bigint sums as text). Amounts people type go through parseCredits instead.
 */
export function mc(amount: number | string | bigint): Millicredits {
  return Number(amount) as Millicredits;
}

/** The total of some amounts. */
export function sumMc(amounts: Iterable<Millicredits>): Millicredits {
  let total = 0;
  for (const amount of amounts) total += amount;
  return mc(total);
}

/** a − b: a shortfall, what is left, a saving. */
export function subMc(a: Millicredits, b: Millicredits): Millicredits {
  return mc(a - b);
}

/** An amount times a whole count (the price of n videos). */
export function timesMc(amount: Millicredits, count: number): Millicredits {
  return mc(amount * count);
}

/** Kling's float credit figures (a pack's 123.45 remaining units) as millicredits, rounded. */
export function creditsToMc(units: number): Millicredits {
  return mc(Math.round(units * MILLI));
}

export class AmountError extends Error {
  override name = 'AmountError';
}

/** Parses "2.5", "0.05", "12" (or an integer) into millicredits exactly; more than 3 decimals is refused. */
export function parseCredits(value: string | number): Millicredits {
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) return parseCredits(String(value));
    return mc(value * MILLI);
  }
  const text = value.trim();
  const match = /^(-)?(\d+)(?:\.(\d{1,3}))?$/.exec(text);
  if (!match) throw new AmountError(`"${value}" is not an amount of credits (use a number such as 100 or 2.5)`);
  const [, sign, whole, frac = ''] = match;
  const amount = Number(whole) * MILLI + Number(frac.padEnd(3, '0'));
  return mc(sign ? -amount : amount);
}

/** Parses a decimal that may carry more precision than a millicredit (Kling's "5.04" seconds, "3.024" units), rounding half up. */
export function parseCreditsRounded(value: string): Millicredits {
  const match = /^(-)?(\d+)(?:\.(\d+))?$/.exec(value.trim());
  if (!match) throw new AmountError(`"${value}" is not a decimal amount`);
  const [, sign, whole, frac = ''] = match;
  const kept = Number(whole) * MILLI + Number(frac.slice(0, 3).padEnd(3, '0'));
  const roundUp = frac.length > 3 && Number(frac[3]) >= 5 ? 1 : 0;
  return mc((sign ? -1 : 1) * (kept + roundUp));
}

/** "2.5", "0.05", "12": the shortest exact decimal. */
export function formatCredits(amount: Millicredits): string {
  const sign = amount < 0 ? '-' : '';
  const abs = Math.abs(amount);
  const whole = Math.floor(abs / MILLI);
  const frac = String(abs % MILLI)
    .padStart(3, '0')
    .replace(/0+$/, '');
  return `${sign}${whole.toLocaleString('en-US')}${frac ? `.${frac}` : ''}`;
}

/** Dollar value at the configured price per credit, rounded to cents: "$1.40". */
export function formatUsd(amount: Millicredits, creditPriceUsd: number): string {
  const cents = Math.round((amount * Math.round(creditPriceUsd * 10_000)) / (MILLI * 100));
  const sign = cents < 0 ? '-' : '';
  const abs = Math.abs(cents);
  return `${sign}$${Math.floor(abs / 100).toLocaleString('en-US')}.${String(abs % 100).padStart(2, '0')}`;
}

/** A plain decimal for files ("1234.5", "0.05"): exact, no thousands separator. */
export function creditsDecimal(amount: Millicredits): string {
  return decimal(BigInt(amount), 3);
}

/**
 * The exact dollar value of an amount at a price per credit, as a plain decimal ("0.007", "1400"): no rounding,
 * so the values of the parts add up to the value of the whole. The price is read as the decimal it was written as.
 */
export function usdDecimal(amount: Millicredits, creditPriceUsd: number): string {
  const match = /^(\d+)(?:\.(\d+))?$/.exec(String(creditPriceUsd));
  if (!match) throw new AmountError(`${creditPriceUsd} is not a price in dollars per credit`);
  const frac = match[2] ?? '';
  return decimal(BigInt(amount) * BigInt(match[1]! + frac), 3 + frac.length);
}

function decimal(units: bigint, scale: number): string {
  const sign = units < 0n ? '-' : '';
  const digits = (units < 0n ? -units : units).toString().padStart(scale + 1, '0');
  const whole = digits.slice(0, digits.length - scale);
  const frac = digits.slice(digits.length - scale).replace(/0+$/, '');
  return `${sign}${whole}${frac ? `.${frac}` : ''}`;
}
