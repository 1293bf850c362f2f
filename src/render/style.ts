import Table from 'cli-table3';

/** Colour only on a TTY, and never with NO_COLOR (https://no-color.org). */
export function useColour(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0') return true;
  return stream.isTTY === true;
}

/** The styles the renderers use. */
export interface Painter {
  bold(text: string): string;
  red(text: string): string;
  yellow(text: string): string;
  cyan(text: string): string;
}

const plain: Painter = { bold: (t) => t, red: (t) => t, yellow: (t) => t, cyan: (t) => t };

// chalk is loaded only when some output will be coloured: piped, NO_COLOR and CI runs (and
// the start-up of every command there) skip it.
const chalk = useColour(process.stdout) || useColour(process.stderr) ? new (await import('chalk')).Chalk({ level: 1 }) : null;

export function painter(colour: boolean): Painter {
  return colour && chalk ? chalk : plain;
}

/** A cli-table3 table; colour codes only when `colour`, so piped output stays plain. */
export function table(head: string[], rows: string[][], colour: boolean, align?: ('left' | 'right')[]): string {
  const t = new Table({
    // An empty head means no header row.
    head: head.length ? head.map((h) => (colour ? painter(true).bold(h) : h)) : [],
    style: { head: [], border: colour ? ['grey'] : [], compact: false },
    ...(align ? { colAligns: align } : {}),
    wordWrap: false,
    // No rule between body rows: denser, and still one line per row when piped.
    chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
  });
  t.push(...rows);
  return t.toString();
}
