import { COMPAT_NAMES } from '../providers/compat.js';
import { compatClientVar } from '../proxy/compat.js';
import type { CallRecord } from '../record.js';
import { formatCost, formatCount, formatUsd, shownName } from './format.js';
import { painter } from './style.js';

/** The variables clients use, one NAME=value line each: what `llm-usage proxy` prints on stdout. */
export function renderBaseUrls(origin: string): string {
  // Then the compatible providers' SDK variables (GROQ_BASE_URL=ORIGIN/groq, ...), from their table.
  const compat = COMPAT_NAMES.flatMap((name) => Object.entries(compatClientVar(name, origin)).map(([k, v]) => `${k}=${v}\n`)).join('');
  return `OPENAI_BASE_URL=${origin}/v1\nANTHROPIC_BASE_URL=${origin}\nAZURE_OPENAI_ENDPOINT=${origin}\nAWS_ENDPOINT_URL_BEDROCK_RUNTIME=${origin}\nANTHROPIC_BEDROCK_BASE_URL=${origin}\nGOOGLE_GEMINI_BASE_URL=${origin}\n${compat}`;
}

/** Where the proxy forwards, and how it stops (stderr). */
export function renderProxyBanner(
  b: { origin: string; openai: string; anthropic: string; azure: string | null; bedrock: string; google?: string; via: { http?: string; https?: string }; loopbackOnly: boolean; maxCostUsd?: number; compat?: Record<string, string> },
  colour: boolean,
): string {
  const c = painter(colour);
  const lines = [`llm-usage proxy: metering on ${b.origin}; OpenAI calls go to ${b.openai}, Anthropic calls to ${b.anthropic}, Bedrock calls to ${b.bedrock}`];
  if (b.google) lines.push(`llm-usage proxy: Gemini API calls go to ${b.google}`);
  lines.push(
    b.azure
      ? `llm-usage proxy: Azure OpenAI calls go to ${b.azure}`
      : 'llm-usage proxy: Azure OpenAI calls are refused: no Azure endpoint is configured (AZURE_OPENAI_ENDPOINT or --azure-upstream)',
  );
  const overrides = Object.entries(b.compat ?? {}).map(([name, url]) => `${name} to ${url}`);
  lines.push(`llm-usage proxy: OpenAI-compatible providers on ${b.origin}/NAME/v1 (${COMPAT_NAMES.join(', ')}) go to their public base URLs${overrides.length ? `, but ${overrides.join(', ')}` : ''}`);
  if (b.via.https) lines.push(`llm-usage proxy: https upstreams are reached through ${b.via.https} (HTTPS_PROXY), unless NO_PROXY names them`);
  if (b.via.http) lines.push(`llm-usage proxy: http upstreams are reached through ${b.via.http} (HTTP_PROXY), unless NO_PROXY names them`);
  if (b.maxCostUsd !== undefined) lines.push(`llm-usage proxy: calls are refused once they cost ${formatUsd(b.maxCostUsd)}`);
  if (!b.loopbackOnly) lines.push(c.yellow('llm-usage proxy: listening beyond loopback: anyone who can reach this address can send calls through it'));
  lines.push('llm-usage proxy: Ctrl-C stops it and prints the summary');
  return lines.join('\n') + '\n';
}

/** One line per metered call: number, provider, model, tokens, cost, and the running total. */
export function renderCallLine(r: CallRecord, n: number, spentUsd: number, colour: boolean): string {
  const c = painter(colour);
  const what = `#${n} ${r.provider} ${shownName(r.model)} ${r.api}${r.stream ? ' stream' : ''}`;
  if (!r.ok && r.usage_source === 'none') return `llm-usage: ${what}: ${c.red(`failed: ${r.error ?? 'unknown error'}`)}\n`;
  const u = r.usage;
  const tokens =
    r.api === 'embeddings'
      ? `${formatCount(u.input_tokens)} tokens`
      : `${formatCount(u.input_tokens)} + ${formatCount(u.output_tokens)} = ${formatCount(u.total_tokens)} tokens`;
  const estimated = r.usage_source === 'estimated' ? ' (estimated)' : '';
  const failed = r.ok ? '' : c.red(` failed: ${r.error ?? 'unknown error'}`);
  return `llm-usage: ${what}: ${tokens}${estimated}, ${formatCost(r.cost_usd)} (total ${formatUsd(spentUsd)})${failed}\n`;
}

const REFUSALS: Record<string, string> = {
  'no-route': 'no route, not an OpenAI, Anthropic or Gemini API path (404)',
  'bad-path': 'a path that leaves the API (400)',
  azure: 'Azure OpenAI with no Azure endpoint to go to (400)',
  'too-large': 'a body over LLM_USAGE_PROXY_MAX_BODY (413)',
  signature: 'AWS requests whose signature does not verify against your AWS credentials (403)',
};

/** The notes under an exec or proxy summary: failures by name (the first few), refusals, pass-throughs. */
export function renderProxyNotes(
  n: { calls: number; failures: readonly string[]; failedCount: number; refusedBedrock?: number; requests: number; unmetered: number; refused: Partial<Record<string, number>>; maxCostUsd?: number; spentUsd: number },
  colour: boolean,
): string {
  const c = painter(colour);
  const lines: string[] = [];
  for (const error of n.failures) lines.push(c.red(`llm-usage: ${error}`));
  const more = n.failedCount - n.failures.length;
  if (more > 0) lines.push(`llm-usage: … and ${more} more failed calls (--json lists every call)`);
  const budget = n.refused['budget'] ?? 0;
  if (budget > 0 && n.maxCostUsd !== undefined) {
    const calls = budget === 1 ? '1 call was' : `${formatCount(budget)} calls were`;
    // Bedrock's refusals are its 400 ServiceQuotaExceededException: the AWS SDKs retry a 429.
    const bedrock = n.refusedBedrock ?? 0;
    const how = bedrock === 0 ? 'HTTP 429' : bedrock === budget ? 'HTTP 400 (ServiceQuotaExceededException)' : `HTTP 429 (${formatCount(bedrock)} to Bedrock with 400)`;
    lines.push(c.yellow(`llm-usage: --max-cost ${formatUsd(n.maxCostUsd)} held at ${formatUsd(n.spentUsd)} spent: ${calls} refused with ${how} and not sent`));
  }
  for (const [why, text] of Object.entries(REFUSALS)) {
    const count = n.refused[why] ?? 0;
    if (count > 0) lines.push(c.yellow(`llm-usage: ${formatCount(count)} request${count === 1 ? '' : 's'} refused by llm-usage and never sent: ${text}`));
  }
  if (n.unmetered > 0) lines.push(`llm-usage: ${formatCount(n.unmetered)} other request${n.unmetered === 1 ? '' : 's'} (no usage on those paths) passed through unmetered`);
  if (n.requests === 0) {
    lines.push('llm-usage: no LLM calls went through the proxy: does the program read OPENAI_BASE_URL, ANTHROPIC_BASE_URL, AZURE_OPENAI_ENDPOINT or GOOGLE_GEMINI_BASE_URL?');
  }
  return lines.length ? lines.join('\n') + '\n' : '';
}
