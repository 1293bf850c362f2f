/**
 * The processes around the proxy: the command `exec` runs, and the signals that stop things.
 * The only module of the proxy that starts a process or listens for signals.
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { CliError } from '../errors.js';

/**
 * Runs CMD with the terminal (stdin, stdout and stderr inherited) and `env`, and resolves with
 * its exit code as a shell reports it: its own code, or 128 + the signal's number when a
 * signal ended it. CMD that cannot be started is a CliError with a shell's code: 127 when
 * it is not found, 126 when it cannot be executed.
 *
 * Ctrl-C and SIGTERM sent to llm-usage go to CMD, and llm-usage waits for CMD to exit, so the
 * summary always prints. On a terminal, Ctrl-C already reaches CMD (the whole foreground
 * process group gets it): relaying the first one would interrupt CMD twice, in its clean-up,
 * so only a second one is relayed. Off a terminal (CI, a supervisor's kill), every one is.
 * `onSignal` hears of each, so calls the signal cuts can say so.
 */
export function runChild(command: string, args: readonly string[], env: NodeJS.ProcessEnv, onSignal?: (signal: NodeJS.Signals) => void): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: 'inherit', env });
    const onTerminal = Boolean(process.stdin.isTTY || process.stdout.isTTY || process.stderr.isTTY);
    let interrupts = 0;
    const onSigint = () => {
      onSignal?.('SIGINT');
      interrupts++;
      if (!onTerminal || interrupts > 1) child.kill('SIGINT');
    };
    const onSigterm = () => {
      onSignal?.('SIGTERM');
      child.kill('SIGTERM');
    };
    process.on('SIGINT', onSigint);
    process.on('SIGTERM', onSigterm);
    const done = () => {
      process.off('SIGINT', onSigint);
      process.off('SIGTERM', onSigterm);
    };
    child.once('error', (err: NodeJS.ErrnoException) => {
      done();
      if (err.code === 'ENOENT') reject(new CliError(`cannot run "${command}": command not found`, 127));
      else if (err.code === 'EACCES') reject(new CliError(`cannot run "${command}": permission denied`, 126));
      else reject(new CliError(`cannot run "${command}": ${err.message}`, 126));
    });
    child.once('exit', (code, signal) => {
      done();
      resolve(code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0));
    });
  });
}

/** Resolves at the first Ctrl-C or SIGTERM (which then no longer end the process). */
export function untilStopped(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      // Until the summary is out, a second signal must not kill us mid-sentence either.
      process.once('SIGINT', () => undefined);
      process.once('SIGTERM', () => undefined);
      resolve(signal);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
