import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('README', () => {
  it('its example outputs are what the built CLI prints now', () => {
    const r = spawnSync(process.execPath, ['scripts/readme.mjs', '--check'], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('starts with what the tool does, then exactly two set-up commands: install-and-run, and the tests', () => {
    const readme = readFileSync('README.md', 'utf8');
    const setUp = readme.split('## Set up')[1]?.split('\n## ')[0] ?? '';
    const blocks = [...setUp.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => (m[1] as string).trim());
    expect(blocks).toEqual([expect.stringMatching(/^npm ci && npx llm-usage /), 'npm test']);
    const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
    expect(pkg.scripts.test).toMatch(/vitest run/);
    expect(readFileSync('.ci/run', 'utf8')).toMatch(/npm ci[\s\S]*npm test/);
  });
});
