import { useColour } from './render/style.js';

/** Where a command writes: data to `out` (stdout), everything else to `err` (stderr). */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  colourOut: boolean;
  colourErr: boolean;
  env: NodeJS.ProcessEnv;
}

export function processIo(): Io {
  return {
    out: (t) => void process.stdout.write(t),
    err: (t) => void process.stderr.write(t),
    colourOut: useColour(process.stdout),
    colourErr: useColour(process.stderr),
    env: process.env,
  };
}

/** All of stdin when it is piped or redirected; null on a terminal, where nothing is waiting. */
export async function readStdinIfPiped(stdin: NodeJS.ReadStream = process.stdin): Promise<string | null> {
  if (stdin.isTTY) return null;
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
