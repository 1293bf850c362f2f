import { formatCost, formatCount, formatUsd } from './format.js';
import { table } from './style.js';

export interface CountResult {
  model: string;
  encoding: string;
  approximate: boolean;
  /** Why the count is approximate: one clause each. */
  approximations: string[];
  chat: boolean;
  tokens: number;
  cost_usd: number | null;
  priced_as: string | null;
  input_price_per_million: number | null;
  inputs: { source: string; tokens: number; characters: number }[];
}

export function renderCount(r: CountResult, colour: boolean): string {
  const rows = r.inputs.map((i) => [i.source, formatCount(i.characters), formatCount(i.tokens)]);
  if (r.inputs.length > 1) rows.push(['Total', formatCount(r.inputs.reduce((n, i) => n + i.characters, 0)), formatCount(r.tokens)]);
  const how = `${r.chat ? 'chat-message formula, ' : ''}tiktoken ${r.encoding}${r.approximate ? ` (an approximation: ${r.approximations.join('; ')})` : ''}`;
  const price =
    r.cost_usd === null
      ? `Input cost: unknown (${r.priced_as ? `${r.priced_as} has no input price` : `no price for model "${r.model}"`})`
      : `Input cost: ${formatCost(r.cost_usd)} at ${formatUsd(r.input_price_per_million ?? 0)} / 1M (${r.priced_as})`;
  return `${table(['Input', 'Characters', 'Tokens'], rows, colour, ['left', 'right', 'right'])}\n${formatCount(r.tokens)} tokens for ${r.model}, counted with ${how}.\n${price}\n`;
}
