/**
 * Google's Gemini API (AI Studio) row of the provider table: which models are Gemini's, where
 * calls go, which key they send, and the path of its OpenAI-compatible endpoint. SDK-free, so
 * plan and the proxy can use it.
 *
 * The variables are the ones the official `@google/genai` SDK reads: the key from GOOGLE_API_KEY
 * or GEMINI_API_KEY (GOOGLE_API_KEY wins when both are set, as the SDK and Google's docs say),
 * the base URL from GOOGLE_GEMINI_BASE_URL (without the API version: the SDK adds /v1beta).
 */

/** The key variables, in the order the SDK takes them. */
export const GOOGLE_KEY_VARS = ['GOOGLE_API_KEY', 'GEMINI_API_KEY'] as const;
/** The variable a missing key's message names first: the one Google's docs tell users to set. */
export const GOOGLE_KEY_VAR = 'GEMINI_API_KEY';
export const GOOGLE_BASE_URL_VAR = 'GOOGLE_GEMINI_BASE_URL';
export const GOOGLE_DEFAULT_BASE_URL = 'https://generativelanguage.googleapis.com';
/** Gemini's OpenAI-compatible endpoint, under the base URL (chat completions, embeddings). */
export const GOOGLE_OPENAI_PATH = '/v1beta/openai';

/** `google/MODEL` or `gemini/MODEL` (LiteLLM's spelling) as a --model: the model, or null for any other name. */
export function googleModelOf(model: string): string | null {
  const m = /^(?:google|gemini)\/(.+)$/i.exec(model.trim());
  return m ? (m[1] as string) : null;
}

/** Whether a model name selects Google without --provider: `google/…`, `gemini/…`, or a `gemini-…` model. */
export function isGoogleModel(model: string): boolean {
  return googleModelOf(model) !== null || /^(?:models\/)?gemini-/i.test(model.trim());
}

/** The key the SDK would send, and the variable it came from; null when neither is set. */
export function googleKeyOf(env: NodeJS.ProcessEnv): { name: string; value: string } | null {
  for (const name of GOOGLE_KEY_VARS) {
    // An empty variable is an unset one, as the SDK reads it.
    const value = env[name]?.trim();
    if (value) return { name, value };
  }
  return null;
}
