/** Text formatting of numbers and names; the one place dollars are rounded. */
import { MODEL_NAME_LENGTH_KEPT } from '../tally.js';

/**
 * Dollars without float noise or scientific notation: 12 significant digits, trailing zeros
 * dropped, at least two decimals. 0.019250000000000003 -> "$0.01925", 2.95e-5 -> "$0.0000295".
 */
export function formatUsd(usd: number): string {
  if (usd === 0) return '$0.00';
  const sign = usd < 0 ? '-' : '';
  const abs = Math.abs(usd);
  const decimals = Math.min(100, Math.max(2, 11 - Math.floor(Math.log10(abs))));
  let text = abs.toFixed(decimals).replace(/0+$/, '');
  const [whole, frac = ''] = text.split('.');
  text = `${whole}.${frac.padEnd(2, '0')}`;
  return `${sign}$${groupThousands(whole as string)}${text.slice((whole as string).length)}`;
}

/** A cost that may be unknown: "unknown" rather than a silent $0. */
export function formatCost(usd: number | null): string {
  return usd === null ? 'unknown' : formatUsd(usd);
}

export function formatCount(n: number): string {
  return groupThousands(String(n));
}

function groupThousands(digits: string): string {
  return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/**
 * A model name as a line of text shows it: whole up to MODEL_NAME_LENGTH_KEPT characters, else
 * its start and its length. A client may send any name (up to the body limit): the ledger and
 * --json keep it whole, but one line on a terminal, or a note, never holds megabytes of it.
 */
export function shownName(name: string): string {
  return name.length <= MODEL_NAME_LENGTH_KEPT ? name : `${name.slice(0, 64)}… (${formatCount(name.length)} characters)`;
}
