import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BIN } from '../support/cli.js';
import { startFakeProvider } from '../support/fake-provider.mjs';

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
    for (const heavy of ['/openai/', '/@anthropic-ai/', '/js-tiktoken/', '/genai-prices/', '/@aws-sdk/', '/@smithy/', '/@opentelemetry/', '/prom-client/', '/telemetry/', '/undici/', '/pricing/update.js']) {
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

  it('with no OTEL_* endpoint, run loads no OpenTelemetry and no Prometheus client; with one, it does', async () => {
    const fake = await startFakeProvider();
    try {
      const traced = async (extra: Record<string, string>) => {
        const file = join(mkdtempSync(join(tmpdir(), 'llm-usage-trace-')), 'trace.txt');
        const env: Record<string, string> = {};
        for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !/^(OPENAI|ANTHROPIC|LLM_USAGE|OTEL)_/.test(k)) env[k] = v;
        Object.assign(env, { NO_COLOR: '1', TRACE_IMPORTS_FILE: file, LLM_USAGE_LEDGER: '/dev/null', OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: `${fake.url}/v1`, ...extra });
        const child = spawn(process.execPath, ['--import', TRACE, BIN, 'run', 'hello'], { env, stdio: 'ignore' });
        expect(await new Promise((resolve) => child.on('close', resolve))).toBe(0);
        return readFileSync(file, 'utf8').trim().split('\n');
      };
      const off = await traced({});
      expect(off.some((u) => u.includes('/openai/'))).toBe(true); // the trace works: the call was made
      expect(off.filter((u) => /\/@opentelemetry\/|\/prom-client\/|\/telemetry\/(otlp|prometheus)\.js/.test(u))).toEqual([]);
      const on = await traced({ OTEL_EXPORTER_OTLP_ENDPOINT: `${fake.url}/otel` });
      expect(on.some((u) => u.includes('/@opentelemetry/sdk-metrics/'))).toBe(true);
      expect(on.filter((u) => u.includes('/prom-client/'))).toEqual([]);
    } finally {
      await fake.close();
    }
  });

  it('exec loads no AWS library until a Bedrock request comes', () => {
    const loaded = modulesLoadedBy(['exec', '--no-ledger', '--', process.execPath, '-e', '0']);
    expect(loaded.some((u) => u.includes('/dist/proxy/server.js'))).toBe(true); // the trace works
    for (const heavy of ['/@smithy/', '/@aws-sdk/', '/@aws-crypto/']) {
      expect(loaded.filter((u) => u.includes(heavy)), heavy).toEqual([]);
    }
  });
});
