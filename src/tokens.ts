/**
 * Exact tiktoken token counts, fast, with encoders built only when first needed.
 *
 * Every count equals js-tiktoken's `encode(text, [], []).length` (tiktoken's
 * `encode(text, disallowed_special=())`): special-token text such as '<|endoftext|>' is
 * counted as ordinary text and never throws, because we count what a model was sent or
 * returned, not what an API would accept.
 *
 * Why it is fast: tiktoken runs its byte-pair merge separately on each piece its split
 * regex yields, so the token count of a piece depends on the piece alone. We cache the
 * count of every distinct piece, and the common case costs one regex match and one Map
 * lookup per piece. The merge itself runs only for pieces never seen before.
 *
 * Why importing this module costs nothing: js-tiktoken's rank tables (1 to 2.3 MB of
 * source each) are loaded by dynamic import() in loadEncoder(), once per process per
 * encoding, and only the encoding actually asked for.
 */

/**
 * The encodings we count with, by tiktoken's names. o200k_harmony (gpt-oss) is o200k_base's
 * ranks and split pattern plus the harmony format's special tokens; js-tiktoken 1.0.21 ships no
 * o200k_harmony ranks, and we count special-token text as ordinary text anyway, so its counts
 * are o200k_base's, exactly tiktoken's. It keeps its own name so that output says what gpt-oss uses.
 */
export type EncodingName = 'o200k_base' | 'o200k_harmony' | 'cl100k_base' | 'p50k_base' | 'r50k_base';

export const ENCODING_NAMES: readonly EncodingName[] = ['o200k_base', 'o200k_harmony', 'cl100k_base', 'p50k_base', 'r50k_base'];

/** The encodings whose rank tables we load: o200k_harmony counts with o200k_base's. */
type RanksName = Exclude<EncodingName, 'o200k_harmony'>;
const RANKS_OF: Readonly<Record<EncodingName, RanksName>> = {
  o200k_base: 'o200k_base',
  o200k_harmony: 'o200k_base',
  cl100k_base: 'cl100k_base',
  p50k_base: 'p50k_base',
  r50k_base: 'r50k_base',
};

/**
 * A chat message as the Chat Completions API takes it: content as a string, as an array of
 * parts (text, image_url, input_audio, file, refusal), or null beside tool_calls; tool results
 * name their call. Anything else on a message is ignored.
 */
export interface ChatMessage {
  role: string;
  content?: string | readonly ChatContentPart[] | null;
  name?: string;
  tool_calls?: readonly ToolCall[];
  tool_call_id?: string;
  /** The legacy function-calling shape (deprecated, still accepted). */
  function_call?: { name?: string; arguments?: string };
  refusal?: string | null;
}

export interface ChatContentPart {
  type: string;
  text?: string;
  refusal?: string;
  [key: string]: unknown;
}

export interface ToolCall {
  id?: string;
  type?: string;
  function?: { name?: string; arguments?: string };
  [key: string]: unknown;
}

/** A built encoding. `count` is synchronous: await loadEncoder() once, then count freely. */
export interface Encoder {
  readonly name: RanksName;
  count(text: string): number;
  /** How many distinct pieces the count cache holds now (bounded; for diagnostics). */
  readonly cachedPieces: number;
}

/** The shape of js-tiktoken's rank modules (js-tiktoken/ranks/<name>). */
interface RanksData {
  pat_str: string;
  special_tokens: Record<string, number>;
  bpe_ranks: string;
}

// ---------------------------------------------------------------------------------------
// Model name -> encoding, after tiktoken's model.py (MODEL_TO_ENCODING and
// MODEL_PREFIX_TO_ENCODING). Where js-tiktoken's getEncodingNameForModel disagrees with
// tiktoken (it maps davinci-002 to p50k_base and babbage-002 to r50k_base) we follow
// tiktoken, which OpenAI maintains: both are cl100k_base.
// ---------------------------------------------------------------------------------------

const ENCODING_BY_MODEL: Readonly<Record<string, EncodingName>> = {
  // base models that replaced the GPT-3 family
  'davinci-002': 'cl100k_base',
  'babbage-002': 'cl100k_base',
  'text-embedding-ada-002': 'cl100k_base',
  // text (deprecated)
  'text-davinci-003': 'p50k_base',
  'text-davinci-002': 'p50k_base',
  'text-davinci-001': 'r50k_base',
  'text-curie-001': 'r50k_base',
  'text-babbage-001': 'r50k_base',
  'text-ada-001': 'r50k_base',
  davinci: 'r50k_base',
  curie: 'r50k_base',
  babbage: 'r50k_base',
  ada: 'r50k_base',
  // code (deprecated)
  'davinci-codex': 'p50k_base',
  'cushman-codex': 'p50k_base',
  // p50k_edit has p50k_base's ranks and split pattern and differs only in special tokens,
  // which we count as text, so its counts are p50k_base's.
  'text-davinci-edit-001': 'p50k_base',
  'code-davinci-edit-001': 'p50k_base',
  // gpt2 has r50k_base's ranks and split pattern.
  gpt2: 'r50k_base',
  'gpt-2': 'r50k_base',
};

/** Checked in order after the exact table; the first match wins. */
const ENCODING_BY_MODEL_PATTERN: readonly (readonly [RegExp, EncodingName])[] = [
  // gpt-4, gpt-4-0613, gpt-4-32k, gpt-4-turbo*, gpt-4-vision-preview; not gpt-4o/4.1/4.5
  [/^gpt-4(?:-|$)/, 'cl100k_base'],
  // gpt-3.5, gpt-3.5-turbo*, gpt-3.5-turbo-instruct, and Azure's gpt-35-turbo*
  [/^gpt-3\.?5(?:-|$)/, 'cl100k_base'],
  [/^text-embedding-3-/, 'cl100k_base'],
  [/^code-(?:davinci|cushman)-/, 'p50k_base'],
  [/^(?:text-similarity|text-search|code-search)-/, 'r50k_base'],
  // the GPT-3 base family and its variants (davinci-instruct-beta, curie:ft-...);
  // davinci-002 and babbage-002 were settled by the exact table above
  [/^(?:davinci|curie|babbage|ada)(?:-|$)/, 'r50k_base'],
];

/**
 * The model a name stands for: lower-cased, without a provider path ('openai/gpt-4o'),
 * and for fine-tunes the base model ('ft:gpt-3.5-turbo-0125:org::id' -> 'gpt-3.5-turbo-0125',
 * legacy 'davinci:ft-org-2023-01-01' -> 'davinci').
 */
export function baseModelName(model: string): string {
  let name = model.trim().toLowerCase();
  const slash = name.lastIndexOf('/');
  if (slash >= 0) name = name.slice(slash + 1);
  if (name.startsWith('ft:')) name = name.slice(3);
  const colon = name.indexOf(':');
  if (colon >= 0) name = name.slice(0, colon);
  return name;
}

/**
 * The encoding a model uses. o200k_base for gpt-4o, gpt-4.1, gpt-4.5, o-series, gpt-5 and
 * later, and as the default for names we do not know: new OpenAI models use it.
 */
export function encodingForModel(model: string): EncodingName {
  const name = baseModelName(model);
  const exact = ENCODING_BY_MODEL[name];
  if (exact !== undefined) return exact;
  for (const [pattern, encoding] of ENCODING_BY_MODEL_PATTERN) {
    if (pattern.test(name)) return encoding;
  }
  return 'o200k_base';
}

/** True when the model's encoding is tiktoken's own mapping, not the default for unknown names. */
export function hasKnownEncoding(model: string): boolean {
  const name = baseModelName(model);
  return ENCODING_BY_MODEL[name] !== undefined || ENCODING_BY_MODEL_PATTERN.some(([pattern]) => pattern.test(name));
}

export function isEncodingName(value: string): value is EncodingName {
  return (ENCODING_NAMES as readonly string[]).includes(value);
}

/** Which encoding counts a model's tokens, and whether it is the model's own tokenizer. */
export interface Tokenizer {
  encoding: EncodingName;
  /** True for OpenAI's models, whose tokenizer tiktoken is: the count is the model's own. */
  exact: boolean;
  /** Why the count is an approximation, when it is: one clause, for output. */
  approximation: string | null;
}

/**
 * OpenAI's model names, as tiktoken's map and OpenAI's model list spell them: everything whose
 * count tiktoken gives exactly. (Tested against js-tiktoken's whole model list.)
 */
const OPENAI_MODEL =
  /^(?:gpt-(?!neo|j(?:-|$))|chatgpt-|o\d(?:-|$)|codex-|computer-use-|omni-moderation|text-moderation|text-embedding-|text-(?:davinci|curie|babbage|ada)-|text-(?:similarity|search)-|code-(?:davinci|cushman|search)-|(?:davinci|curie|babbage|ada)(?:-|$)|cushman-codex)/;

/**
 * The one answer to "which encoding, and is it the model's own?" for a model name (and, where
 * known, the provider serving it). OpenAI models: tiktoken's encoding, exact; gpt-oss:
 * o200k_harmony, exact. Claude: cl100k_base, an approximation (Claude's tokenizer is not
 * public). Every other model (Gemini, Llama, Mistral, DeepSeek, Grok, a name we do not know):
 * o200k_base, an approximation, since its own tokenizer is not tiktoken's.
 */
export function tokenizerFor(model: string, provider?: string): Tokenizer {
  const name = baseModelName(model);
  if (provider === 'anthropic' || /claude/.test(name)) {
    return { encoding: 'cl100k_base', exact: false, approximation: "Claude's tokenizer is not public; cl100k_base stands in for it" };
  }
  if (name.startsWith('gpt-oss')) return { encoding: 'o200k_harmony', exact: true, approximation: null };
  const encoding = encodingForModel(name);
  if (OPENAI_MODEL.test(name) || ENCODING_BY_MODEL[name] !== undefined) return { encoding, exact: true, approximation: null };
  return { encoding, exact: false, approximation: `${model} is not an OpenAI model tiktoken knows; ${encoding} stands in for its own tokenizer` };
}

/** An encoding name is taken as is; anything else is a model name (see tokenizerFor). */
export function encodingFor(encodingOrModel: string): EncodingName {
  return isEncodingName(encodingOrModel) ? encodingOrModel : tokenizerFor(encodingOrModel).encoding;
}

// ---------------------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------------------

// Literal specifiers, one per encoding, so that bundlers and tsc can see each module.
const RANKS_MODULES: Readonly<Record<RanksName, () => Promise<{ default: RanksData }>>> = {
  o200k_base: () => import('js-tiktoken/ranks/o200k_base'),
  cl100k_base: () => import('js-tiktoken/ranks/cl100k_base'),
  p50k_base: () => import('js-tiktoken/ranks/p50k_base'),
  r50k_base: () => import('js-tiktoken/ranks/r50k_base'),
};

const encoderPromises = new Map<RanksName, Promise<Encoder>>();
const builtEncoders = new Map<RanksName, Encoder>();

/**
 * The encoder for `encoding`, built on first call; later and concurrent calls share it
 * (o200k_harmony shares o200k_base's, whose name it then has).
 */
export function loadEncoder(encoding: EncodingName): Promise<Encoder> {
  const name = RANKS_OF[encoding];
  let promise = encoderPromises.get(name);
  if (promise === undefined) {
    promise = RANKS_MODULES[name]().then(
      (module) => {
        const encoder = new PieceCachingEncoder(name, module.default);
        builtEncoders.set(name, encoder);
        return encoder;
      },
      (error: unknown) => {
        // Forget the failure so that a later call can try again.
        encoderPromises.delete(name);
        throw error;
      },
    );
    encoderPromises.set(name, promise);
  }
  return promise;
}

/** The encodings built so far in this process, in build order. */
export function loadedEncodings(): RanksName[] {
  return [...builtEncoders.keys()];
}

// ---------------------------------------------------------------------------------------
// Counting API
// ---------------------------------------------------------------------------------------

/** Tokens in `text` under an encoding name or the encoding of a model name. */
export async function countTokens(text: string, encodingOrModel: string): Promise<number> {
  const encoder = await loadEncoder(encodingFor(encodingOrModel));
  return encoder.count(text);
}

/** Tokens in several texts (e.g. the completion of each choice), summed. */
export async function countTextsTokens(texts: readonly string[], encodingOrModel: string): Promise<number> {
  const encoder = await loadEncoder(encodingFor(encodingOrModel));
  let total = 0;
  for (const text of texts) total += encoder.count(text);
  return total;
}

/** A chat prompt's count, and what about it is not exact (empty when the count is the API's). */
export interface ChatCount {
  tokens: number;
  /** Clauses for output, one per reason the count is approximate. */
  approximations: string[];
}

/**
 * Prompt tokens of a chat request, by OpenAI's formula (openai-cookbook, "How to count tokens
 * with tiktoken", `num_tokens_from_messages`): each message costs 3 tokens of framing plus the
 * tokens of every string field's value (role, content, name, tool_call_id, refusal), a `name`
 * costs 1 more, and 3 tokens prime the reply. gpt-3.5-turbo-0301 framed messages differently
 * (4 per message, and a name replaced the role: -1), and the cookbook keeps that case.
 *
 * What the formula does not cover is counted as tiktoken-based references (LangChain's
 * getNumTokensFromMessages) do, and marked approximate: content given as parts counts its text
 * (text and refusal parts, joined); image, audio and file parts count nothing (their tokens
 * depend on what the API sees, an image's size for one); each tool call (or legacy
 * function_call) counts 3 tokens plus its function name and arguments.
 */
export async function chatTokens(messages: readonly ChatMessage[], model: string, provider?: string): Promise<ChatCount> {
  const tokenizer = tokenizerFor(model, provider);
  const encoder = await loadEncoder(tokenizer.encoding);
  const legacyFraming = /^gpt-3\.?5-turbo-0301$/.test(baseModelName(model));
  const tokensPerMessage = legacyFraming ? 4 : 3;
  const tokensPerName = legacyFraming ? -1 : 1;
  const approximations = new Set<string>();
  if (tokenizer.approximation) approximations.add(tokenizer.approximation);
  let total = 3;
  for (const message of messages) {
    total += tokensPerMessage + encoder.count(message.role);
    const content = message.content;
    if (typeof content === 'string') total += encoder.count(content);
    else if (Array.isArray(content)) {
      let text = '';
      for (const part of content as readonly ChatContentPart[]) {
        if (part.type === 'text' && typeof part.text === 'string') text += part.text;
        else if (part.type === 'refusal' && typeof part.refusal === 'string') text += part.refusal;
        else approximations.add(`${part.type} parts are not counted, as their tokens depend on what the API sees`);
      }
      total += encoder.count(text);
    }
    if (typeof message.name === 'string') total += tokensPerName + encoder.count(message.name);
    if (typeof message.tool_call_id === 'string') total += encoder.count(message.tool_call_id);
    if (typeof message.refusal === 'string') total += encoder.count(message.refusal);
    const calls = [...(message.tool_calls ?? []).map((c) => c.function), ...(message.function_call ? [message.function_call] : [])];
    for (const call of calls) {
      total += 3 + encoder.count(call?.name ?? '') + encoder.count(call?.arguments ?? '');
      approximations.add('tool calls are counted as 3 tokens plus their name and arguments, as no published formula covers them');
    }
  }
  return { tokens: total, approximations: [...approximations] };
}

/** chatTokens' count alone. */
export async function countChatTokens(messages: readonly ChatMessage[], model: string, provider?: string): Promise<number> {
  return (await chatTokens(messages, model, provider)).tokens;
}

// ---------------------------------------------------------------------------------------
// The encoder
// ---------------------------------------------------------------------------------------

/** The piece cache is cleared when it reaches this many entries, to bound memory. */
const MAX_CACHED_PIECES = 100_000;

/** Longer pieces rarely repeat, and caching them would pin large strings in memory. */
const MAX_CACHED_PIECE_LENGTH = 256;

/** Pieces with more bytes than this use the heap-based merge (n log n, not n²). */
const LONG_PIECE_BYTES = 128;

/** Rank of "no such token": above every real rank, so `<` comparisons need no branch. */
const NO_RANK = 0x7fffffff;

class PieceCachingEncoder implements Encoder {
  private readonly splitPattern: RegExp;
  private readonly ranks: RankTable;
  /** Token count of each distinct piece seen, keyed by the piece's text. */
  private readonly pieceCounts = new Map<string, number>();

  constructor(
    readonly name: RanksName,
    data: RanksData,
  ) {
    // The same pattern and flags js-tiktoken uses, so that the pieces are the same.
    this.splitPattern = new RegExp(data.pat_str, 'ug');
    this.ranks = rankTableFrom(data.bpe_ranks);
  }

  get cachedPieces(): number {
    return this.pieceCounts.size;
  }

  count(text: string): number {
    // match() with the g flag returns every piece at once, without per-match objects.
    const pieces = text.match(this.splitPattern);
    if (pieces === null) return 0;
    const pieceCounts = this.pieceCounts;
    let total = 0;
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i] as string;
      const cached = pieceCounts.get(piece);
      total += cached !== undefined ? cached : this.countAndCachePiece(piece);
    }
    return total;
  }

  private countAndCachePiece(piece: string): number {
    const bytes = utf8ByteString(piece);
    const count = this.ranks.byBytes.has(bytes) ? 1 : mergedPartCount(bytes, this.ranks);
    if (piece.length <= MAX_CACHED_PIECE_LENGTH) {
      if (this.pieceCounts.size >= MAX_CACHED_PIECES) this.pieceCounts.clear();
      this.pieceCounts.set(ownedCopy(piece), count);
    }
    return count;
  }
}

/** An encoding's mergeable ranks, in the two forms the merge looks them up by. */
interface RankTable {
  /** Rank of every mergeable token, keyed by its bytes as a byte string (one char per byte). */
  byBytes: Map<string, number>;
  /** Rank of each two-byte token at index (first byte << 8 | second byte), else NO_RANK:
   *  the merge's first pass looks up every adjacent byte pair, without making strings. */
  byBytePair: Int32Array;
}

/**
 * js-tiktoken's compact rank table, decoded: lines of "<label> <first rank> <base64 token>
 * <base64 token> ...", ranks counting up from the first. atob() yields exactly the byte
 * string we key on, and is the fastest decoder we measured for 200k short tokens.
 */
function rankTableFrom(bpeRanks: string): RankTable {
  const byBytes = new Map<string, number>();
  const byBytePair = new Int32Array(65536).fill(NO_RANK);
  for (const line of bpeRanks.split('\n')) {
    if (line === '') continue;
    const fields = line.split(' ');
    const firstRank = Number.parseInt(fields[1] ?? '', 10);
    for (let i = 2; i < fields.length; i++) {
      const bytes = atob(fields[i] as string);
      const rank = firstRank + i - 2;
      byBytes.set(bytes, rank);
      if (bytes.length === 2) byBytePair[(bytes.charCodeAt(0) << 8) | bytes.charCodeAt(1)] = rank;
    }
  }
  return { byBytes, byBytePair };
}

/**
 * Regex matches of 13 chars or more are slices that keep the whole matched text alive;
 * a cache key must not pin a caller's megabytes. Concatenation then slicing makes V8
 * flatten into a fresh string of the piece's own length.
 */
function ownedCopy(piece: string): string {
  return piece.length < 13 ? piece : (piece + ' ').slice(0, -1);
}

/**
 * The UTF-8 bytes of `text` as a string of char codes 0-255, the key type of the rank
 * table. Lone surrogates become U+FFFD, as with TextEncoder (what js-tiktoken uses).
 */
function utf8ByteString(text: string): string {
  let i = 0;
  while (i < text.length && text.charCodeAt(i) < 0x80) i++;
  if (i === text.length) return text; // ASCII: chars are bytes already
  const bytes: number[] = [];
  for (let j = 0; j < i; j++) bytes.push(text.charCodeAt(j));
  for (; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) {
      bytes.push(unit);
    } else if (unit < 0x800) {
      bytes.push(0xc0 | (unit >> 6), 0x80 | (unit & 0x3f));
    } else if (unit < 0xd800 || unit > 0xdfff) {
      bytes.push(0xe0 | (unit >> 12), 0x80 | ((unit >> 6) & 0x3f), 0x80 | (unit & 0x3f));
    } else {
      const low = i + 1 < text.length ? text.charCodeAt(i + 1) : 0;
      if (unit <= 0xdbff && low >= 0xdc00 && low <= 0xdfff) {
        const point = 0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00);
        bytes.push(0xf0 | (point >> 18), 0x80 | ((point >> 12) & 0x3f), 0x80 | ((point >> 6) & 0x3f), 0x80 | (point & 0x3f));
        i++;
      } else {
        bytes.push(0xef, 0xbf, 0xbd);
      }
    }
  }
  // fromCharCode.apply takes its arguments on the stack: go in chunks for long pieces.
  let result = '';
  for (let start = 0; start < bytes.length; start += 8192) {
    result += String.fromCharCode.apply(null, bytes.slice(start, start + 8192));
  }
  return result;
}

/** Reused by every short-piece merge: counting is synchronous, so one set suffices. */
const mergeStarts = new Int32Array(LONG_PIECE_BYTES + 1);
const mergePairRanks = new Int32Array(LONG_PIECE_BYTES);

/**
 * How many tokens tiktoken's byte-pair merge makes of a piece: repeatedly join the
 * adjacent pair whose joined bytes have the lowest rank, the leftmost on ties, until no
 * pair is a token. Every single byte is a token in these encodings, so every part left is.
 */
function mergedPartCount(bytes: string, ranks: RankTable): number {
  const n = bytes.length;
  if (n <= 1) return n;
  if (n > LONG_PIECE_BYTES) return mergedPartCountByHeap(bytes, ranks);
  const byBytes = ranks.byBytes;
  const byBytePair = ranks.byBytePair;
  // starts[i] is where part i begins (starts[count] === n); pairRanks[i] is the rank of
  // parts i and i+1 joined. Both shift left on a merge: short pieces, cheap moves.
  const starts = mergeStarts;
  const pairRanks = mergePairRanks;
  let previousByte = bytes.charCodeAt(0);
  starts[0] = 0;
  for (let i = 1; i < n; i++) {
    const byte = bytes.charCodeAt(i);
    starts[i] = i;
    pairRanks[i - 1] = byBytePair[(previousByte << 8) | byte] as number;
    previousByte = byte;
  }
  starts[n] = n;
  let count = n;
  while (count > 1) {
    let lowest = NO_RANK;
    let at = -1;
    for (let i = 0; i < count - 1; i++) {
      const rank = pairRanks[i] as number;
      if (rank < lowest) {
        lowest = rank;
        at = i;
      }
    }
    if (at < 0) break;
    for (let i = at + 1; i < count; i++) starts[i] = starts[i + 1] as number;
    for (let i = at + 1; i < count - 1; i++) pairRanks[i] = pairRanks[i + 1] as number;
    count--;
    pairRanks[at] = at + 1 < count ? (byBytes.get(bytes.slice(starts[at], starts[at + 2])) ?? NO_RANK) : NO_RANK;
    if (at > 0) pairRanks[at - 1] = byBytes.get(bytes.slice(starts[at - 1], starts[at + 1])) ?? NO_RANK;
  }
  return count;
}
/**
 * The same merge for long pieces (long words, whitespace runs), where scanning all pairs
 * for each merge would be quadratic. Candidate pairs sit in a min-heap keyed by
 * rank * 2^32 + start, so the lowest rank wins and, on ties, the leftmost: the order
 * tiktoken merges in. Entries made stale by a merge are skipped when popped: a pair's
 * bytes only grow, so a stale entry's rank never equals the pair's current rank.
 */
function mergedPartCountByHeap(bytes: string, ranks: RankTable): number {
  const n = bytes.length;
  const SHIFT = 4294967296;
  // Parts are linked by their start offsets.
  const next = new Int32Array(n);
  const prev = new Int32Array(n);
  const pairRank = new Int32Array(n); // rank of the part starting here joined with the next
  const heap: number[] = [];
  const byBytes = ranks.byBytes;
  const rankOf = (start: number, end: number): number => byBytes.get(bytes.slice(start, end)) ?? NO_RANK;
  const push = (key: number): void => {
    let i = heap.length;
    heap.push(key);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const parentKey = heap[parent] as number;
      if (parentKey <= key) break;
      heap[i] = parentKey;
      i = parent;
    }
    heap[i] = key;
  };
  const pop = (): number => {
    const top = heap[0] as number;
    const last = heap.pop() as number;
    const size = heap.length;
    if (size > 0) {
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= size) break;
        const right = left + 1;
        const child = right < size && (heap[right] as number) < (heap[left] as number) ? right : left;
        const childKey = heap[child] as number;
        if (childKey >= last) break;
        heap[i] = childKey;
        i = child;
      }
      heap[i] = last;
    }
    return top;
  };

  for (let i = 0; i < n; i++) {
    next[i] = i + 1;
    prev[i] = i - 1;
  }
  for (let i = 0; i < n - 1; i++) {
    const rank = ranks.byBytePair[(bytes.charCodeAt(i) << 8) | bytes.charCodeAt(i + 1)] as number;
    pairRank[i] = rank;
    if (rank !== NO_RANK) push(rank * SHIFT + i);
  }
  pairRank[n - 1] = NO_RANK;

  let count = n;
  while (heap.length > 0) {
    const key = pop();
    const rank = Math.floor(key / SHIFT);
    const start = key - rank * SHIFT;
    if (pairRank[start] !== rank) continue; // stale, or the part was absorbed (NO_RANK)
    const absorbed = next[start] as number;
    const after = next[absorbed] as number;
    pairRank[absorbed] = NO_RANK;
    next[start] = after;
    if (after < n) prev[after] = start;
    count--;

    const rightRank = after < n ? rankOf(start, next[after] as number) : NO_RANK;
    pairRank[start] = rightRank;
    if (rightRank !== NO_RANK) push(rightRank * SHIFT + start);

    const before = prev[start] as number;
    if (before >= 0) {
      const leftRank = rankOf(before, after);
      pairRank[before] = leftRank;
      if (leftRank !== NO_RANK) push(leftRank * SHIFT + before);
    }
  }
  return count;
}
