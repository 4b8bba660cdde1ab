// How the console writes amounts, times and ids.
const fractionDigits = new Map<string, number>();

/** An amount in minor units as money in its currency (MYR 2100 → MYR 21.00). */
export function money(minor: number, currency: string): string {
  try {
    const format = new Intl.NumberFormat('en', { style: 'currency', currency, currencyDisplay: 'code' });
    const digits = fractionDigits.get(currency) ?? format.resolvedOptions().maximumFractionDigits ?? 2;
    fractionDigits.set(currency, digits);
    return format.format(minor / 10 ** digits);
  } catch {
    return `${currency} ${minor} (minor units)`;
  }
}

export function dateTime(iso: string): string {
  return new Date(iso).toLocaleString('en-GB', { dateStyle: 'medium', timeStyle: 'medium' });
}

export function clockTime(iso: string): string {
  return new Date(iso).toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit' });
}

/** The first block of a UUID: enough to tell orders apart on a screen. */
export function shortId(id: string): string {
  return id.slice(0, 8);
}
