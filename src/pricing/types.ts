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

export interface PriceTable {
  source: { package: string; version: string; synced: string; overlay?: string; user_files?: string[] };
  providers: ProviderInfo[];
}
