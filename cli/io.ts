import type { Clock } from '../lib/clock.js';
import type { CliClients } from './clients.js';

/** Where the CLI writes: a stream, and whether a person is watching it. */
export interface Output {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

/** Everything a command touches outside itself, so tests can run it in-process. */
export interface CliIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdout: Output;
  readonly stderr: Output;
  /** Asks the operator and resolves their answer; absent when nobody can answer (no TTY). */
  readonly ask?: (question: string) => Promise<string>;
  /** AWS clients for a region (undefined: the SDK's own default). */
  readonly clients: (region: string | undefined) => CliClients;
  /** Ctrl-C: commands stop at the next safe point. */
  readonly signal?: AbortSignal;
  readonly clock: Clock;
  /** Weiban requests go through this; tests watch or fault it. */
  readonly fetch?: typeof fetch;
}

export const println = (out: Output, text = ''): void => {
  out.write(`${text}\n`);
};
