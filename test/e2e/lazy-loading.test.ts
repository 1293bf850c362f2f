import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BIN } from '../support/cli.js';

const TRACE = fileURLToPath(new URL('../support/trace-imports.mjs', import.meta.url));

function modulesLoadedBy(args: string[], extraEnv: Record<string, string> = {}): string[] {
  const file = join(mkdtempSync(join(tmpdir(), 'llm-usage-trace-')), 'trace.txt');
  const r = spawnSync(process.execPath, ['--import', TRACE, BIN, ...args], {
    env: { ...process.env, NO_COLOR: '1', TRACE_IMPORTS_FILE: file, ...extraEnv },
    encoding: 'utf8',
  });
  expect(r.status, r.stderr).toBe(0);
  return readFileSync(file, 'utf8').trim().split('\n');
}

describe('commands load only what they use', () => {
  it('price loads no SDK, no tokenizer and not genai-prices', () => {
    const loaded = modulesLoadedBy(['price', '--model', 'gpt-4-turbo', '-i', '10', '-o', '10']);
    expect(loaded.some((u) => u.includes('/commander/'))).toBe(true); // the trace works
    for (const heavy of ['/openai/', '/@anthropic-ai/', '/js-tiktoken/', '/genai-prices/', '/@aws-sdk/', '/@smithy/', '/undici/', '/pricing/update.js']) {
      expect(loaded.filter((u) => u.includes(heavy)), heavy).toEqual([]);
    }
  });

  it('pricing status loads no HTTP client: only `pricing update` downloads', () => {
    const loaded = modulesLoadedBy(['pricing']);
    expect(loaded.some((u) => u.includes('/commands/pricing.js'))).toBe(true); // the trace works
    for (const heavy of ['/undici/', '/pricing/update.js', '/openai/', '/@anthropic-ai/']) {
      expect(loaded.filter((u) => u.includes(heavy)), heavy).toEqual([]);
    }
  });

  it('a Bedrock dry run loads no AWS or Anthropic SDK: planning a Bedrock call needs none', () => {
    const loaded = modulesLoadedBy(['run', '--dry-run', '-m', 'anthropic.claude-v2', 'hi'], { LLM_USAGE_LEDGER: '/dev/null' });
    expect(loaded.some((u) => u.includes('/js-tiktoken/'))).toBe(true); // the trace works: the prompt was counted
    for (const heavy of ['/@aws-sdk/', '/@smithy/', '/@anthropic-ai/']) {
      expect(loaded.filter((u) => u.includes(heavy)), heavy).toEqual([]);
    }
  });
});
