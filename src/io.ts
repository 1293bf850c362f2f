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
