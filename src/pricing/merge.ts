import type { ModelInfo, ProviderInfo } from './types.js';

/**
 * The providers we keep from upstream's data, in the order the CLI searches them when none is
 * given: openai and anthropic first.
 */
export const KEPT_PROVIDERS = [
  'openai', 'anthropic', 'azure', 'aws', 'google', 'groq', 'mistral', 'deepseek', 'x-ai',
  'cohere', 'perplexity', 'together', 'fireworks', 'moonshotai', 'cerebras',
] as const;

/** scripts/pricing-overlay.json: prices users need that upstream lacks. */
export interface Overlay {
  providers: { id: string; models: ModelInfo[] }[];
}

/** The kept providers with our overlay merged in, and the overlay entries upstream now has. */
export interface Merged {
  providers: ProviderInfo[];
  /** `provider/model` ids of overlay entries dropped because upstream has a model of that id. */
  dropped: string[];
}

/**
 * Keeps our providers from upstream's provider list and merges the overlay: each overlay model
 * is put first in its provider (so it wins over broader upstream match rules), unless upstream
 * has a model of the same id, which then replaces it: an entry upstream gains leaves the overlay.
 * Used by scripts/sync-pricing.mjs (the built-in table) and `llm-usage pricing update`, so both
 * give the same table from the same data. Throws on a kept provider upstream lacks.
 */
export function mergeUpstream(upstream: readonly ProviderInfo[], overlay: Overlay): Merged {
  for (const o of overlay.providers) {
    if (!(KEPT_PROVIDERS as readonly string[]).includes(o.id)) throw new Error(`overlay provider "${o.id}" is not one we keep`);
  }
  const dropped: string[] = [];
  const providers = KEPT_PROVIDERS.map((id) => {
    const p = upstream.find((x) => x.id === id);
    if (!p) throw new Error(`it has no provider "${id}"`);
    // extractors describe response parsing for genai-prices' own extractUsage; we normalise usage ourselves.
    const { extractors: _extractors, ...rest } = p as ProviderInfo & { extractors?: unknown };
    const upstreamIds = new Set(p.models.map((m) => m.id));
    const extra = (overlay.providers.find((o) => o.id === id)?.models ?? []).filter((m) => {
      if (!upstreamIds.has(m.id)) return true;
      dropped.push(`${id}/${m.id}`);
      return false;
    });
    return { ...rest, models: [...extra, ...p.models] };
  });
  return { providers, dropped };
}
