/**
 * Attribution tags: `--tag KEY=VALUE` (repeatable) and LLM_USAGE_TAGS (`KEY=VALUE,KEY=VALUE`).
 * Pure. A tag is recorded in the ledger, exported as the attribute `llm_usage.tag.KEY`, and can
 * be a Prometheus label `tag_KEY`, so keys keep to what all three can hold.
 */
import { UsageError } from '../errors.js';

export type Tags = Record<string, string>;

const KEY = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;
const MAX_VALUE = 256;
const MAX_TAGS = 20;

/** Why a tag key is not one, or null when it is. */
export function badTagKey(key: string): string | null {
  return KEY.test(key) ? null : `"${key}" is not a tag key: a letter, then letters, digits, _ . or - (at most 64)`;
}

function parseTag(text: string, where: string): [string, string] {
  const at = text.indexOf('=');
  if (at <= 0) throw new UsageError(`${where} "${text}": expected KEY=VALUE, such as project=search`);
  const key = text.slice(0, at).trim();
  const value = text.slice(at + 1).trim();
  const bad = badTagKey(key);
  if (bad) throw new UsageError(`${where} ${bad}`);
  if (value === '') throw new UsageError(`${where} ${key}= has no value: give KEY=VALUE`);
  if (value.length > MAX_VALUE) throw new UsageError(`${where} ${key}: a value of ${value.length} characters (at most ${MAX_VALUE})`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value)) throw new UsageError(`${where} ${key}: the value has a control character`);
  return [key, value];
}

/**
 * The tags of a command: LLM_USAGE_TAGS, then each --tag (which wins over the variable for the
 * same key). A key given twice in --tag, or a malformed tag, is a UsageError.
 */
export function tagsOf(flags: readonly string[] | undefined, env: NodeJS.ProcessEnv): Tags {
  const tags: Tags = {};
  const fromEnv = env.LLM_USAGE_TAGS?.trim();
  if (fromEnv) {
    for (const part of fromEnv.split(',')) {
      if (part.trim() === '') throw new UsageError(`LLM_USAGE_TAGS "${fromEnv}" has an empty tag: separate KEY=VALUE pairs with single commas`);
      const [k, v] = parseTag(part.trim(), 'LLM_USAGE_TAGS:');
      tags[k] = v;
    }
  }
  const seen = new Set<string>();
  for (const flag of flags ?? []) {
    const [k, v] = parseTag(flag, '--tag');
    if (seen.has(k)) throw new UsageError(`--tag ${k} is given twice: give each key once`);
    seen.add(k);
    tags[k] = v;
  }
  if (Object.keys(tags).length > MAX_TAGS) throw new UsageError(`${Object.keys(tags).length} tags: at most ${MAX_TAGS}`);
  return tags;
}

/** The tags as attributes, `llm_usage.tag.KEY`. */
export function tagAttributes(tags: Tags, prefix: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(tags)) out[prefix + k] = v;
  return out;
}

/** A tag key as a Prometheus label name: `tag_` and the key, with . and - as _. */
export function tagLabel(key: string): string {
  return `tag_${key.replace(/[.-]/g, '_')}`;
}
