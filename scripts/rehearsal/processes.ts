import { spawn } from 'node:child_process';
import { RehearsalError, tail } from './errors.js';

/** How a child process ended, with its output (stdout and stderr also interleaved). */
export interface Finished {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly output: string;
}

export interface RunOptions {
  readonly cwd: string;
  /** The child's whole environment: nothing of this process's is passed unless listed. */
  readonly env: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal | undefined;
  /** Opens an IPC channel; the child's `process.send` messages arrive here. */
  readonly onMessage?: (message: unknown) => void;
}

const KILL_GRACE_MS = 5_000;

/**
 * Runs a command to its end. Over `timeoutMs`, or when `signal` aborts, the child gets
 * SIGTERM and then SIGKILL. Resolves however the child exits; rejects only when it cannot start.
 */
export function run(
  command: string,
  args: readonly string[],
  options: RunOptions,
): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...args], {
      cwd: options.cwd,
      env: { ...options.env },
      stdio: [
        'ignore',
        'pipe',
        'pipe',
        ...(options.onMessage === undefined ? [] : ['ipc' as const]),
      ],
    });
    let stdout = '';
    let stderr = '';
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      stdout += text;
      output += text;
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      stderr += text;
      output += text;
    });
    if (options.onMessage !== undefined) child.on('message', options.onMessage);

    let killer: NodeJS.Timeout | undefined;
    const stop = () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      killer ??= setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
    };
    const timer = setTimeout(stop, options.timeoutMs);
    options.signal?.addEventListener('abort', stop, { once: true });

    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new RehearsalError(`${command} could not start: ${error.message}`, { cause: error }));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (killer !== undefined) clearTimeout(killer);
      options.signal?.removeEventListener('abort', stop);
      resolve({ code, signal, stdout, stderr, output });
    });
  });
}

/** Fails with `what` and the output's last lines unless the process exited with 0. */
export function requireSuccess(finished: Finished, what: string, label: string): Finished {
  if (finished.code === 0) return finished;
  const how =
    finished.signal === null
      ? `exited with ${finished.code ?? 'no code'}`
      : `was killed (${finished.signal})`;
  throw new RehearsalError(`${what} ${how}.`, {
    tails: [{ label, text: tail(finished.output, 40) }],
  });
}
