import { InvalidArgumentError, Option } from 'commander';

/** Option parsers shared by the commands' registrations: bad values become exit 2. */

export function count(value: string): number {
  if (!/^\d+$/.test(value.trim())) throw new InvalidArgumentError('expected a whole number of tokens, such as 1412');
  return Number(value);
}

export function positive(value: string): number {
  if (!/^\d+$/.test(value.trim()) || Number(value) < 1) throw new InvalidArgumentError('expected a whole number of at least 1');
  return Number(value);
}

export function temperature(value: string): number {
  const t = Number(value);
  if (value.trim() === '' || !Number.isFinite(t) || t < 0 || t > 2) throw new InvalidArgumentError('expected a number from 0 to 2');
  return t;
}

export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export const pricingOption = (): Option =>
  new Option('--pricing <file>', 'a price file merged over the built-in table (same schema as pricing.json); also LLM_USAGE_PRICING');


export function dollars(value: string): number {
  const usd = Number(value.trim().replace(/^\$/, ''));
  if (value.trim() === '' || !Number.isFinite(usd) || usd < 0) throw new InvalidArgumentError('expected dollars, such as 0.50');
  return usd;
}

/** --ledger FILE / --no-ledger / --log-content: where every metered call is recorded. */
export function ledgerOptions(): Option[] {
  return [
    new Option('--ledger <file>', 'record calls in this file (default: LLM_USAGE_LEDGER, else the user data directory)'),
    new Option('--no-ledger', 'do not record the calls of this command'),
    new Option('--log-content', 'also record prompts and replies in the ledger (off by default)'),
  ];
}
