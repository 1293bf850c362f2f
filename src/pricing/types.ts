/** pricing.json's schema: @pydantic/genai-prices' provider data, unchanged. */

export type MatchLogic =
  | { equals: string }
  | { starts_with: string }
  | { ends_with: string }
  | { contains: string }
  | { regex: string }
  | { or: MatchLogic[] }
  | { and: MatchLogic[] };

export interface Tiered {
  base: number;
  tiers: { start: number; price: number }[];
}

/** Price keys as upstream names them: `_mtok` per 1M tokens, `_kcount` per 1,000 requests. */
export type ModelPrice = Record<string, number | Tiered | undefined>;

export interface ConditionalPrice {
  constraint?:
    | { type?: 'start_date'; start_date: string }
    | { type?: 'time_of_date'; start_time: string; end_time: string };
  prices: ModelPrice;
}

export interface ModelInfo {
  id: string;
  name?: string;
  description?: string;
  match: MatchLogic;
  context_window?: number;
  deprecated?: boolean;
  price_comments?: string;
  prices: ModelPrice | ConditionalPrice[];
}

export interface ProviderInfo {
  id: string;
  name: string;
  api_pattern?: string;
  pricing_urls?: string[];
  model_match?: MatchLogic;
  provider_match?: MatchLogic;
  fallback_model_providers?: string[];
  price_comments?: string;
  description?: string;
  models: ModelInfo[];
}

/**
 * Where a table's prices came from. The built-in table: the package version and the day it was
 * synced. A downloaded one (`llm-usage pricing update`): also the URL, when, the SHA-256 of the
 * bytes downloaded, and the file it was saved to.
 */
export interface TableSource {
  package: string;
  version: string;
  /** YYYY-MM-DD: the day the built-in table was synced, or the day of the download. */
  synced: string;
  overlay?: string;
  user_files?: string[];
  origin?: 'built-in' | 'downloaded';
  url?: string;
  /** ISO time of the download. */
  downloaded?: string;
  sha256?: string;
  /** The downloaded table's file (set when loaded, not stored). */
  file?: string;
}

export interface PriceTable {
  source: TableSource;
  providers: ProviderInfo[];
}
