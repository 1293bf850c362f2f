#!/usr/bin/env node
// Token counting throughput and cold start: our counter (dist/tokens.js) against
// gpt-tokenizer and plain js-tiktoken encode().length, on a seeded 4 MB corpus of mixed
// prose, code, data and multilingual text. Exits 1 if the three ever disagree on a count.
//
//   npx tsc -p tsconfig.json && node bench/count.mjs [--mb 4] [--rounds 4] [--cold 5] [--enc o200k_base,cl100k_base]
//
// Rounds are interleaved (each round runs every counter once, in a rotated order) so that
// machine noise and GC hit all of them alike. Round 1 starts with empty caches, which is
// the CLI's situation (it counts each completion once); later rounds show the steady state
// of a long-running process.

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { Tiktoken } from 'js-tiktoken/lite';
import { loadEncoder } from '../dist/tokens.js';
import { seededRandom } from '../test/support/seeded-random.mjs';

const option = (flag, fallback) => {
  const at = process.argv.indexOf(flag);
  return at >= 0 && process.argv[at + 1] !== undefined ? process.argv[at + 1] : fallback;
};
const CORPUS_MB = Number(option('--mb', '4'));
const ROUNDS = Number(option('--rounds', '4'));
const COLD_RUNS = Number(option('--cold', '5'));
const ENCODINGS = option('--enc', 'o200k_base,cl100k_base').split(',');
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const OURS_URL = new URL('../dist/tokens.js', import.meta.url).href;

// ---------------------------------------------------------------------------------------
// A deterministic corpus
// ---------------------------------------------------------------------------------------


function corpusDocuments(seed, targetBytes) {
  const random = seededRandom(seed);
  const int = (lo, hi) => lo + Math.floor(random() * (hi - lo + 1));
  const pick = (list) => list[Math.floor(random() * list.length)];
  const chance = (p) => random() < p;

  const COMMON = (
    'the of and to a in is it you that he was for on are with as I his they be at one have this from or had by ' +
    'word but what some we can out other were all there when up use your how said an each she which do their time ' +
    'if will way about many then them write would like so these her long make thing see him two has look more day ' +
    'could go come did number sound no most people my over know water than call first who may down side been now ' +
    'find any new work part take get place made live where after back little only round man year came show every ' +
    'good me give our under name very through just form sentence great think say help low line differ turn cause ' +
    'much mean before move right boy old too same tell does set three want air well also play small end put home ' +
    'read hand port large spell add even land here must big high such follow act why ask men change went light ' +
    'kind off need house picture try us again animal point mother world near build self earth father head stand ' +
    'own page should country found answer school grow study still learn plant cover food sun four between state ' +
    'keep eye never last let thought city tree cross farm hard start might story saw far sea draw left late run ' +
    'model token request response latency throughput cache stream prompt completion budget invoice provider ' +
    'function variable parameter argument return value error exception server client database query index'
  ).split(' ');
  const CONTRACTIONS = ["don't", "it's", "we'll", "they're", "I'm", "you've", "can't", "she'd", "isn't", "won't"];
  const SYLLABLES = (
    'ka ro mi sen tal ver bu lo qua nex tri zor pel dan fi gus hal jin kor lum mar nor pix rav sol tum vex wyn ' +
    'xen yor zab ar el ion ost um ish ent ard ble cra dro fle gri pro sta tra ple chi sho thu whe spri'
  ).split(' ');
  const ACCENTED = 'café naïve déjà über Straße Übung façade niño señor año crème brûlée Zürich Ångström smörgåsbord Kraków élève'.split(' ');
  const CYRILLIC = 'привет мир данные модель токен запрос ответ время работа система'.split(' ');
  const GREEK = 'αλφα βήτα γάμμα δέλτα λόγος κόσμος'.split(' ');
  const ARABIC = 'مرحبا عالم نموذج بيانات'.split(' ');
  const HAN = '的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自着去之过家学对可她里后小么心多天而能好都然没日于起还发成事只作当想看文无开手十用主行方又如前所本见经头面公同三已老从动两长知民样现分将外但身些与高意进把法此实回二理美点月明其种声全工己话儿者向情部正名定女问力机给等几很业最间新什打便位因重被走电四第门相次东政海口使教西再平真听世气信北少关并内加化由却代军产入先山五太水万市眼体别处总才场师书比住员九笑性通目华报立马命张活难神数件安表原车白应路期叫死常提感金何更反合放做系计或司利受光王果亲界及今京务制解各任至清物台象记边共风战干接它许八特觉望直服毛林题建南度统色字请交爱让认算论百吃义科怎元社术结六功指思非流每青管夫连远资队跟带花快条院变联言权往展该由'.split('');
  const KANA = 'あいうえおかきくけこさしすせそたちつてとなにぬねのはひふへほまみむめもやゆよらりるれろわをんアイウエオカキクケコサシスセソタチツテト'.split('');
  const EMOJI = ['🙂', '🚀', '✅', '❌', '🔥', '👍🏽', '👨‍👩‍👧', '🇫🇷', '🤖', '📈', '⚠️', '🎉', '💡', '🧪'];
  const TLDS = ['com', 'org', 'io', 'dev', 'ai'];

  const rareWord = () => Array.from({ length: int(1, 4) }, () => pick(SYLLABLES)).join('');
  const word = () => (chance(0.82) ? pick(COMMON) : chance(0.5) ? rareWord() : chance(0.5) ? pick(CONTRACTIONS) : pick(ACCENTED));
  const capitalised = (w) => w.charAt(0).toUpperCase() + w.slice(1);
  const identifier = (style) => {
    const parts = Array.from({ length: int(1, 3) }, () => (chance(0.7) ? pick(COMMON) : rareWord()).replace(/'/g, ''));
    if (style === 'snake') return parts.join('_');
    if (style === 'pascal') return parts.map(capitalised).join('');
    return parts[0] + parts.slice(1).map(capitalised).join('');
  };
  const number = () => {
    switch (int(0, 6)) {
      case 0: return String(int(0, 99));
      case 1: return String(int(1900, 2030));
      case 2: return `${int(0, 999)}.${int(0, 99)}`;
      case 3: return `$${int(1, 9999)}.${String(int(0, 99)).padStart(2, '0')}`;
      case 4: return `${int(0, 100)}%`;
      case 5: return String(int(0, 9_999_999)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
      default: return String(int(100_000, 99_999_999_999));
    }
  };
  const hex = (n) => Array.from({ length: n }, () => '0123456789abcdef'[int(0, 15)]).join('');

  const sentence = () => {
    const words = Array.from({ length: int(5, 24) }, () => (chance(0.06) ? number() : word()));
    if (chance(0.15)) words.splice(int(0, words.length), 0, `(${word()} ${word()})`);
    if (chance(0.1)) words.splice(int(0, words.length), 0, `"${word()} ${word()}"`);
    if (chance(0.04)) words.push(`https://${identifier('snake')}.${pick(TLDS)}/${identifier('camel')}?id=${int(1, 9999)}`);
    if (chance(0.05)) words.push(pick(EMOJI));
    let text = words.map((w, i) => (i > 0 && i % int(4, 9) === 0 ? w + ',' : w)).join(' ');
    return capitalised(text) + pick(['.', '.', '.', '?', '!', ':', '...']);
  };
  const paragraph = () => Array.from({ length: int(2, 7) }, sentence).join(' ');

  const jsFunction = () => {
    const name = identifier('camel');
    const args = Array.from({ length: int(0, 3) }, () => identifier('camel'));
    const body = Array.from({ length: int(2, 8) }, () => {
      const v = identifier('camel');
      return pick([
        `  const ${v} = ${args[0] ?? 'this'}.${identifier('camel')}(${number().replace(/[$,%]/g, '')});`,
        `  if (${v} === undefined) throw new Error('${sentence().slice(0, 40)}');`,
        `  for (let i = 0; i < ${int(2, 512)}; i++) ${v}[i] = i * ${int(2, 9)};`,
        `  // ${sentence()}`,
        `  await fetch(\`/api/${identifier('snake')}/\${${v}}\`, { method: 'POST' });`,
        `  return { ${v}, ${identifier('camel')}: ${int(0, 1) ? 'true' : 'null'} };`,
      ]);
    });
    return `export async function ${name}(${args.join(', ')}) {\n${body.join('\n')}\n}\n`;
  };
  const pythonFunction = () => {
    const name = identifier('snake');
    const body = Array.from({ length: int(2, 8) }, () =>
      pick([
        `    ${identifier('snake')} = self.${identifier('snake')}.get("${identifier('snake')}", ${int(0, 100)})`,
        `    for ${identifier('snake')} in range(${int(1, 1000)}):`,
        `        print(f"{${identifier('snake')}!r}: {${number().replace(/[$,%]/g, '')}:.2f}")`,
        `    # ${sentence()}`,
        `    raise ValueError("${sentence().slice(0, 50)}")`,
      ]),
    );
    return `class ${identifier('pascal')}:\n\tdef ${name}(self, ${identifier('snake')}: int = ${int(0, 9)}) -> dict:\n${body.join('\n')}\n\n`;
  };
  const jsonBlock = () =>
    JSON.stringify(
      Object.fromEntries(
        Array.from({ length: int(3, 12) }, () => [
          identifier('camel'),
          pick([int(0, 1e6), random() * 1000, hex(40), `${word()} ${word()}`, [int(0, 9), int(0, 9)], null, true]),
        ]),
      ),
      null,
      pick([2, 4, '\t']),
    ) + '\n';
  const logLines = () =>
    Array.from({ length: int(3, 15) }, () => {
      const ts = new Date(Date.UTC(2025, int(0, 11), int(1, 28), int(0, 23), int(0, 59), int(0, 59), int(0, 999)));
      return `${ts.toISOString()} ${pick(['INFO', 'WARN', 'ERROR', 'DEBUG'])} [${identifier('snake')}] request_id=${hex(8)}-${hex(4)}-${hex(4)}-${hex(12)} took ${int(1, 5000)}ms status=${pick([200, 201, 404, 500, 429])}`;
    }).join('\n') + '\n';
  const markdownTable = () => {
    const columns = int(2, 5);
    const row = () => '| ' + Array.from({ length: columns }, () => (chance(0.5) ? number() : word())).join(' | ') + ' |';
    return [row(), '|' + '---|'.repeat(columns), ...Array.from({ length: int(2, 8) }, row)].join('\n') + '\n';
  };
  const multilingual = () =>
    pick([
      () => Array.from({ length: int(8, 60) }, () => pick(HAN)).join('') + '。',
      () => Array.from({ length: int(8, 40) }, () => pick(KANA)).join('') + '、' + Array.from({ length: int(3, 12) }, () => pick(HAN)).join(''),
      () => Array.from({ length: int(3, 12) }, () => String.fromCharCode(0xac00 + int(0, 11171))).join('') + ' ' + Array.from({ length: int(2, 6) }, () => String.fromCharCode(0xac00 + int(0, 2000))).join(''),
      () => Array.from({ length: int(4, 14) }, () => pick(CYRILLIC)).join(' ') + '.',
      () => Array.from({ length: int(3, 10) }, () => pick(GREEK)).join(' ') + ';',
      () => Array.from({ length: int(3, 10) }, () => pick(ARABIC)).join(' '),
      () => Array.from({ length: int(4, 14) }, () => pick(ACCENTED)).join(' ') + '.',
      () => Array.from({ length: int(2, 10) }, () => pick(EMOJI)).join(chance(0.5) ? ' ' : ''),
    ])();
  const whitespaceRun = () => pick(['\n\n\n', ' '.repeat(int(2, 40)), '\t\t', '\r\n', '\n' + ' '.repeat(int(1, 16))]);

  const blocks = {
    prose: [paragraph, paragraph, paragraph, markdownTable, multilingual],
    code: [jsFunction, pythonFunction, jsonBlock, paragraph, whitespaceRun],
    data: [jsonBlock, logLines, markdownTable, paragraph],
    multilingual: [multilingual, multilingual, paragraph, whitespaceRun],
  };
  const kinds = ['prose', 'prose', 'prose', 'code', 'code', 'data', 'multilingual'];

  const documents = [];
  let bytes = 0;
  while (bytes < targetBytes) {
    const kind = pick(kinds);
    const size = Math.round(Math.exp(Math.log(300) + random() * (Math.log(16000) - Math.log(300))));
    let text = chance(0.3) ? `# ${capitalised(word())} ${word()}\n\n` : '';
    while (text.length < size) {
      const block = pick(blocks[kind])();
      text += kind === 'code' && chance(0.3) ? '```' + pick(['ts', 'py', 'json']) + '\n' + block + '```\n' : block;
      text += pick(['\n\n', '\n', ' ']);
    }
    documents.push(text);
    bytes += Buffer.byteLength(text, 'utf8');
  }
  return { documents, bytes };
}

// ---------------------------------------------------------------------------------------
// Counters
// ---------------------------------------------------------------------------------------

async function countersFor(encoding) {
  const ours = await loadEncoder(encoding);
  const gptTokenizer = await import(`gpt-tokenizer/encoding/${encoding}`);
  const { default: ranks } = await import(`js-tiktoken/ranks/${encoding}`);
  const jsTiktoken = new Tiktoken(ranks);
  return [
    { name: 'ours', count: (text) => ours.count(text) },
    { name: 'gpt-tokenizer', count: (text) => gptTokenizer.countTokens(text) },
    { name: 'js-tiktoken', count: (text) => jsTiktoken.encode(text).length },
  ];
}

function countAll(counter, documents) {
  const counts = new Array(documents.length);
  const start = performance.now();
  for (let i = 0; i < documents.length; i++) counts[i] = counter.count(documents[i]);
  return { seconds: (performance.now() - start) / 1000, counts };
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const fixed = (value, digits = 1) => value.toFixed(digits);

/** Milliseconds from the start of a fresh process's import to its first count returning. */
function coldStartMs(kind, encoding) {
  const code =
    kind === 'ours'
      ? `const t0 = performance.now(); const m = await import(${JSON.stringify(OURS_URL)}); const n = await m.countTokens('Hello, world! Tell me a joke.', ${JSON.stringify(encoding)}); console.log(JSON.stringify({ ms: performance.now() - t0, n }));`
      : `const t0 = performance.now(); const m = await import('gpt-tokenizer/encoding/${encoding}'); const n = m.countTokens('Hello, world! Tell me a joke.'); console.log(JSON.stringify({ ms: performance.now() - t0, n }));`;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', code], { cwd: ROOT, encoding: 'utf8' });
  if (child.status !== 0) throw new Error(`cold start child (${kind}) failed: ${child.stderr}`);
  return JSON.parse(child.stdout.trim());
}

// ---------------------------------------------------------------------------------------
// Run
// ---------------------------------------------------------------------------------------

const benchStart = performance.now();
const { documents, bytes } = corpusDocuments(20240607, CORPUS_MB * 1e6);
const megabytes = bytes / 1e6;
const distinctLines = new Set(documents.flatMap((d) => d.split('\n'))).size;
console.log(`corpus: ${documents.length} documents, ${fixed(megabytes, 2)} MB UTF-8, ${distinctLines} distinct lines (seeded, deterministic)`);
console.log(`node ${process.version}, ${ROUNDS} interleaved rounds; MB = 10^6 bytes of UTF-8\n`);

let mismatch = false;
const summary = [];
for (const encoding of ENCODINGS) {
  const counters = await countersFor(encoding);
  const rates = Object.fromEntries(counters.map((c) => [c.name, []]));
  let reference;
  let identical = true;
  for (let round = 0; round < ROUNDS; round++) {
    for (let k = 0; k < counters.length; k++) {
      const counter = counters[(round + k) % counters.length];
      const { seconds, counts } = countAll(counter, documents);
      rates[counter.name].push(megabytes / seconds);
      if (reference === undefined) reference = { name: counter.name, counts };
      else {
        const at = counts.findIndex((n, i) => n !== reference.counts[i]);
        if (at >= 0) {
          identical = false;
          mismatch = true;
          console.error(`MISMATCH ${encoding} document ${at}: ${counter.name}=${counts[at]} ${reference.name}=${reference.counts[at]}`);
        }
      }
    }
  }
  const total = reference.counts.reduce((a, b) => a + b, 0);
  console.log(`${encoding}: ${total} tokens; per-document counts of the three ${identical ? 'identical in every round' : 'DIFFER (see MISMATCH above)'}`);
  console.log(`  ${'counter'.padEnd(14)} ${'round 1 (cold cache)'.padStart(21)} ${'median of rounds 2+'.padStart(20)}   rounds MB/s`);
  const steady = {};
  for (const { name } of counters) {
    const r = rates[name];
    steady[name] = median(r.length > 1 ? r.slice(1) : r);
    console.log(`  ${name.padEnd(14)} ${(fixed(r[0]) + ' MB/s').padStart(21)} ${(fixed(steady[name]) + ' MB/s').padStart(20)}   ${r.map((x) => fixed(x)).join(' ')}`);
  }
  const first = (name) => rates[name][0];
  summary.push({
    encoding,
    vsGpt: steady.ours / steady['gpt-tokenizer'],
    vsGptFirst: first('ours') / first('gpt-tokenizer'),
    vsTiktoken: steady.ours / steady['js-tiktoken'],
    vsTiktokenFirst: first('ours') / first('js-tiktoken'),
  });
  console.log(
    `  ours/gpt-tokenizer ${fixed(steady.ours / steady['gpt-tokenizer'], 2)}x (round 1: ${fixed(first('ours') / first('gpt-tokenizer'), 2)}x), ` +
      `ours/js-tiktoken ${fixed(steady.ours / steady['js-tiktoken'], 2)}x (round 1: ${fixed(first('ours') / first('js-tiktoken'), 2)}x)\n`,
  );
}

console.log(`cold start: time to first count in a fresh process (import, build encoder, count), ${COLD_RUNS} runs each, interleaved`);
const cold = [];
for (const encoding of ENCODINGS) {
  const times = { ours: [], 'gpt-tokenizer': [] };
  const counts = new Set();
  for (let run = 0; run < COLD_RUNS; run++) {
    for (const kind of run % 2 ? ['gpt-tokenizer', 'ours'] : ['ours', 'gpt-tokenizer']) {
      const { ms, n } = coldStartMs(kind, encoding);
      times[kind].push(ms);
      counts.add(n);
    }
  }
  if (counts.size !== 1) {
    mismatch = true;
    console.error(`MISMATCH cold start counts for ${encoding}: ${[...counts].join(', ')}`);
  }
  const ours = median(times.ours);
  const gpt = median(times['gpt-tokenizer']);
  cold.push({ encoding, ours, gpt });
  console.log(`  ${encoding.padEnd(12)} ours ${fixed(ours)} ms, gpt-tokenizer ${fixed(gpt)} ms (medians): ours/gpt-tokenizer time ${fixed(ours / gpt, 2)}x`);
}

console.log('\nsummary');
for (const s of summary) {
  console.log(
    `  ${s.encoding.padEnd(12)} throughput ours/gpt-tokenizer ${fixed(s.vsGpt, 2)}x steady, ${fixed(s.vsGptFirst, 2)}x cold cache; ` +
      `ours/js-tiktoken ${fixed(s.vsTiktoken, 2)}x steady, ${fixed(s.vsTiktokenFirst, 2)}x cold cache` +
      (s.vsGpt >= 1 ? '' : '   (BELOW gpt-tokenizer)'),
  );
}
for (const c of cold) {
  console.log(`  ${c.encoding.padEnd(12)} cold start ours/gpt-tokenizer ${fixed(c.ours / c.gpt, 2)}x (${fixed(c.ours)} vs ${fixed(c.gpt)} ms; lower is better)`);
}
console.log(`  counts identical across all three: ${mismatch ? 'NO' : 'yes'}; bench took ${fixed((performance.now() - benchStart) / 1000)} s`);
process.exit(mismatch ? 1 : 0);
