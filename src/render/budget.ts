import type { Budget } from '../budget.js';
import { formatCost, formatCount, formatUsd } from './format.js';
import { table } from './style.js';

/** --dry-run: the worst case of each call and in all; nothing was sent. */
export function renderBudget(b: Budget, colour: boolean): string {
  const rows = b.calls.map((c, i) => [
    String(i + 1),
    c.priced_as ?? c.model,
    formatCount(c.prompt_tokens),
    c.max_output_tokens === null ? 'unbounded' : formatCount(c.max_output_tokens),
    c.output_bound,
    formatCost(c.cost_usd),
  ]);
  const lines = [table(['Call', 'Model', 'Prompt (tiktoken)', 'Max output', 'Output bound', 'Worst case'], rows, colour, ['right', 'left', 'right', 'right', 'left', 'right'])];
  const encodings = [...new Set(b.calls.map((c) => c.encoding))];
  const approximations = [...new Set(b.calls.flatMap((c) => (c.approximation ? [c.approximation] : [])))];
  lines.push(`Prompts counted with tiktoken ${encodings.join(', ')}${approximations.length ? `; approximate: ${approximations.join('; ')}` : ''}.`);
  lines.push(`Worst case in all: ${formatCost(b.total_usd)}${b.max_cost_usd === null ? '' : ` (limit ${formatUsd(b.max_cost_usd)}: ${b.within_limit === null ? 'cannot tell' : b.within_limit ? 'within' : 'over'})`}. Nothing was sent.`);
  for (const reason of new Set(b.calls.flatMap((c) => (c.unknown_because ? [c.unknown_because] : [])))) lines.push(`unknown: ${reason}`);
  return lines.join('\n') + '\n';
}
