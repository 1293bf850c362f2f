/**
 * The one table from failure to exit code. Commands throw these; only src/cli.ts catches,
 * prints one line on stderr and sets the exit code. Nothing else calls process.exit.
 *
 *   0  ok
 *   1  a failed call or runtime failure (CallFailed, DownloadFailed, anything unexpected)
 *   2  bad usage or bad input (UsageError, commander's own parse errors)
 *   130 interrupted by Ctrl-C (Interrupted)
 */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

/** Bad usage or input: a wrong option, an unknown model, a malformed file. Exit 2. */
export class UsageError extends CliError {
  constructor(message: string) {
    super(message, 2);
  }
}

/** One or more calls failed; their own lines were already printed. Exit 1. */
export class CallFailed extends CliError {
  constructor(message: string) {
    super(message, 1);
  }
}

/** Ctrl-C: the partial summary was printed. Exit 130, as shells expect after SIGINT. */
export class Interrupted extends CliError {
  constructor() {
    super('interrupted', 130);
  }
}

/**
 * The variables whose values are secrets: every provider's `*_API_KEY` (OPENAI_, ANTHROPIC_,
 * GEMINI_, GROQ_, … and any provider added later), Azure's AD token, AWS's secret key and session
 * token.
 */
const SECRET_VAR = /(?:^|_)(?:API_KEY|AD_TOKEN|SESSION_TOKEN|SECRET_ACCESS_KEY)$/;

/** Removes every configured API key, and anything shaped like one, from a message. */
export function redactKeys(text: string, env: NodeJS.ProcessEnv = process.env): string {
  let out = text;
  for (const [name, key] of Object.entries(env)) {
    if (key && key.length >= 4 && SECRET_VAR.test(name)) out = out.split(key).join('***');
  }
  // Google API keys are AIza and 35 more characters; any such string is one.
  return out.replace(/\b(sk-(?:ant-)?[A-Za-z0-9_-]{4})[A-Za-z0-9_-]{8,}/g, '$1***').replace(/\bAIza[0-9A-Za-z_-]{35}/g, 'AIza***');
}

/** The exit code and the one line to print for anything thrown out of a command. */
export function describeFailure(err: unknown): { exitCode: number; message: string | null } {
  if (err instanceof CliError) return { exitCode: err.exitCode, message: err.message ? redactKeys(err.message) : null };
  const message = err instanceof Error ? err.message : String(err);
  return { exitCode: 1, message: redactKeys(`internal error: ${message}`) };
}

const FS_PROBLEMS: Record<string, string> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EISDIR: 'it is a directory, not a file',
  ENOTDIR: 'a part of the path is not a directory',
  ELOOP: 'too many symbolic links',
  ENAMETOOLONG: 'the name is too long',
  EMFILE: 'too many open files',
};

/** What a failed file read means, in words: "no such file (ENOENT)". */
export function fsProblem(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code && FS_PROBLEMS[code]) return `${FS_PROBLEMS[code]} (${code})`;
  return code ?? (err instanceof Error ? err.message : String(err));
}

/** `pricing update` could not get a usable table: the download failed or was not price data. Exit 1, nothing changed. */
export class DownloadFailed extends CliError {
  constructor(message: string) {
    super(message, 1);
  }
}
