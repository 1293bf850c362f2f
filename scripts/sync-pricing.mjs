#!/usr/bin/env node
// Generates pricing.json, the one price table the CLI reads, from @pydantic/genai-prices (the
// maintained price database) plus the hand-kept scripts/pricing-overlay.json.
//
// Needs the build (npm run build) for the merge it shares with `llm-usage pricing update`.
// Deterministic: the same upstream version and overlay give the same bytes. The `synced` date
// only moves when the generated providers change, so running the sync twice is a no-op.
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { waitForUpdate } from '@pydantic/genai-prices';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// --out FILE writes elsewhere (the tests check idempotence on a copy).
const outFlag = process.argv.indexOf('--out');
const outPath = outFlag > 0 ? process.argv[outFlag + 1] : join(root, 'pricing.json');
const overlayPath = join(root, 'scripts', 'pricing-overlay.json');

// The package does not export its package.json, so read the installed copy's version from disk.
const upstreamVersion = JSON.parse(
  readFileSync(join(root, 'node_modules', '@pydantic', 'genai-prices', 'package.json'), 'utf8'),
).version;

// waitForUpdate() resolves to the bundled provider data when no remote update is configured.
const upstream = await waitForUpdate();
if (!Array.isArray(upstream)) throw new Error('genai-prices returned no bundled provider data');

const overlay = JSON.parse(readFileSync(overlayPath, 'utf8'));

// The same merge as `llm-usage pricing update` (src/pricing/merge.ts, built by `npm run build`):
// the kept providers, each overlay model first in its provider, unless upstream now has its id.
const { mergeUpstream } = await import('../dist/pricing/merge.js');
const { providers, dropped } = mergeUpstream(upstream, overlay);
for (const id of dropped) console.error(`pricing-overlay.json: upstream now prices ${id}; delete it from the overlay`);

let synced = new Date().toISOString().slice(0, 10);
const body = JSON.stringify(providers);
if (existsSync(outPath)) {
  const old = JSON.parse(readFileSync(outPath, 'utf8'));
  if (old.source?.version === upstreamVersion && JSON.stringify(old.providers) === body) synced = old.source.synced;
}

const table = {
  source: {
    package: '@pydantic/genai-prices',
    version: upstreamVersion,
    synced,
    overlay: 'scripts/pricing-overlay.json',
    generated_by: 'npm run pricing:sync (do not edit by hand: edit the overlay or use --pricing FILE)',
  },
  providers,
};
writeFileSync(outPath, JSON.stringify(table, null, 1) + '\n');
const models = providers.reduce((n, p) => n + p.models.length, 0);
console.error(`pricing.json: ${providers.length} providers, ${models} models from @pydantic/genai-prices ${upstreamVersion} (synced ${synced})`);
