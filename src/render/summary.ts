import { tableDate } from '../pricing/source.js';
import type { TableSource } from '../pricing/types.js';
import { MODEL_NAME_LENGTH_KEPT, OTHER_MODELS, type Tally } from '../tally.js';
import { formatCost, formatCount, formatUsd, shownName } from './format.js';
import { painter, table } from './style.js';

/**
 * The get_openai_callback summary as a table: Tokens Used / Prompt / Completion / requests /
 * cost, each figure with where it came from. Detail rows only when non-zero.
 */
export function renderSummary(t: Tally, colour: boolean, estimateHint?: string, prices?: TableSource): string {
  const c = painter(colour);
  const mark = (s: string) => (s === 'reported' || s === 'none' ? s : `${s} *`);
  const tokensSource = t.sources.prompt === t.sources.completion ? mark(t.sources.prompt) : 'see below';
  const rows: string[][] = [
    [c.bold('Tokens Used'), formatCount(t.total_tokens), tokensSource],
    ['  Prompt Tokens', formatCount(t.prompt_tokens), mark(t.sources.prompt)],
  ];
  if (t.cached_tokens) rows.push(['    Cached (read)', formatCount(t.cached_tokens), 'reported, included above']);
  if (t.cache_creation_tokens) rows.push(['    Cache writes', formatCount(t.cache_creation_tokens), 'reported, included above']);
  rows.push(['  Completion Tokens', formatCount(t.completion_tokens), mark(t.sources.completion)]);
  if (t.reasoning_tokens) rows.push(['    Reasoning', formatCount(t.reasoning_tokens), 'reported, included above']);
  if (t.web_search_requests) rows.push(['Web searches', formatCount(t.web_search_requests), 'reported, priced per search']);
  rows.push(['Successful Requests', formatCount(t.successful_requests), '']);
  if (t.failed_requests) rows.push([c.red('Failed Requests'), c.red(formatCount(t.failed_requests)), '']);
  rows.push([c.bold('Total Cost (USD)'), c.bold(totalCost(t)), costSource(t, prices)]);

  const out = [table([], rows, colour, ['left', 'right', 'left'])];
  if (t.by_model.length > 1) {
    const models = t.by_model.map((m) => [
      `${m.provider ? `${m.provider}: ` : ''}${m.priced_as ?? (m.model === OTHER_MODELS ? m.model : `${shownName(m.model)} (no price)`)}`,
      formatCount(m.requests),
      formatCount(m.prompt_tokens),
      formatCount(m.completion_tokens),
      formatCost(m.cost_usd),
    ]);
    out.push(table(['Model', 'Requests', 'Prompt', 'Completion', 'Cost'], models, colour, ['left', 'right', 'right', 'right', 'right']));
  }
  if (t.encodings.length) {
    const approx = t.approximate ? `; an approximation for ${t.approximated.map(shownName).join(', ')} (its own tokenizer is not tiktoken's, or the prompt had parts no published formula counts)` : '';
    out.push(`* estimated with tiktoken ${t.encodings.join(', ')}: the provider reported no usage${estimateHint ? ` (${estimateHint})` : ''}${approx}`);
  }
  if (t.other_models_after) {
    out.push(`${OTHER_MODELS}: calls naming a model past the first ${formatCount(t.other_models_after)} names (or a name over ${MODEL_NAME_LENGTH_KEPT} characters) are counted together, so that what a long session holds stays bounded; the ledger has each call's model`);
  }
  for (const d of t.deployments) out.push(deploymentNote(d));
  for (const r of t.reported_costs ?? []) out.push(reportedNote(r));
  for (const note of t.unpriced) out.push(`cost unknown: ${note}`);
  for (const note of t.price_notes ?? []) out.push(`cost note: ${note}`);
  return out.join('\n') + '\n';
}

/** A provider's own cost report beside pricing.json's figure, and which the total uses. */
function reportedNote(r: NonNullable<Tally['reported_costs']>[number]): string {
  const calls = `${r.requests} call${r.requests === 1 ? '' : 's'}`;
  const table = r.table_usd === null ? 'pricing.json has no price for it' : `pricing.json's ${r.priced_as} prices come to ${formatUsd(r.table_usd)}`;
  return `${r.provider} ${shownName(r.model)}: ${r.provider} reported ${formatUsd(r.reported_usd)} for ${calls} (usage.cost), which the total uses; ${table}`;
}

/** Which name priced an Azure deployment's calls: the model its replies named, or its own. */
function deploymentNote(d: Tally['deployments'][number]): string {
  // Azure's table entry falls back to other providers' prices for the models it serves.
  const fallback = d.priced_as.startsWith('azure/') ? '' : ` (azure falls back to ${d.priced_as.split('/')[0]}'s prices)`;
  const what = `azure deployment ${shownName(d.deployment)}: priced as ${d.priced_as}${fallback}`;
  if (d.priced_by === 'model') return `${what}, by the model its reply named (${shownName(d.model ?? d.deployment)})`;
  const reply = d.model === null ? 'its reply named no model' : `its reply named ${shownName(d.model)}, which has no azure price`;
  return `${what}, by the deployment's name (${reply})`;
}

function totalCost(t: Tally): string {
  if (t.total_cost_usd !== null) return formatUsd(t.total_cost_usd);
  return t.known_cost_usd > 0 ? `${formatUsd(t.known_cost_usd)} + unknown` : 'unknown';
}

/** Where the cost came from: the built-in pricing.json, or the table `pricing update` downloaded (and its day). */
function costSource(t: Tally, prices?: TableSource): string {
  if (!t.cost_complete) return 'incomplete: see below';
  if (t.reported_costs?.length) return 'reported by the provider: see below';
  const priced = [...new Set(t.by_model.flatMap((m) => (m.priced_as ? [m.priced_as] : [])))];
  if (priced.length === 0) return 'nothing billed';
  const table = prices?.origin === 'downloaded' ? `prices downloaded ${tableDate(prices)}` : 'pricing.json';
  return `${table}: ${priced.length === 1 ? priced[0] : `${priced.length} models`}`;
}
