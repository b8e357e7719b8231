import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface Finished {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface Launched {
  /** The process id; the process leads its own process group, whose id is the same. */
  readonly pid: number | undefined;
  /** Resolves when the process has exited. */
  readonly done: Promise<Finished>;
  /** Output so far. */
  readonly output: () => string;
  /** Sends `signal` to the whole process group, as a terminal's Ctrl-C does. */
  readonly signalGroup: (signal: NodeJS.Signals) => void;
}

/**
 * Runs a command from the repository root in its own process group, tagged with `marker` in
 * its environment: every process it starts inherits the tag, so leftovers can be found.
 */
export function launch(
  command: string,
  args: readonly string[],
  { marker, env = {} }: { marker: string; env?: Record<string, string | undefined> },
): Launched {
  const child = spawn(command, [...args], {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      // A developer's own Weiban settings must not turn the local run into a real one.
      WEIBAN_BASE_URL: undefined,
      WEIBAN_CORP_ID: undefined,
      WEIBAN_SECRET: undefined,
      WEIBAN_SECRET_PARAM: undefined,
      FORM_IDS: undefined,
      START_FROM: undefined,
      ...env,
      SMOKE_MARKER: marker,
    },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const done = new Promise<Finished>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      resolve({ code, stdout, stderr });
    });
  });
  return {
    pid: child.pid,
    done,
    output: () => stdout,
    signalGroup: (signal) => {
      if (child.pid !== undefined) process.kill(-child.pid, signal);
    },
  };
}

/** Live processes whose environment carries `marker`, with their command lines. */
export function processesMarked(marker: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const environ = readFileSync(`/proc/${entry}/environ`, 'utf8');
      if (!environ.split('\0').includes(`SMOKE_MARKER=${marker}`)) continue;
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ');
      found.push(`${entry} ${cmdline.trim()}`);
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  return found;
}

/**
 * Live processes in the process group `group`, with their command lines. A launched command
 * leads its own group, and children that get an environment of their own stay in it.
 */
export function processesInGroup(group: number): string[] {
  const found: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // pid (comm) state ppid pgrp …; comm may hold spaces and parentheses.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) !== group) continue;
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ');
      found.push(`${entry} ${cmdline.trim()}`);
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  return found;
}

/** Waits up to `ms` for every process tagged `marker` to be gone; returns those left. */
export async function leftovers(marker: string, ms = 10_000): Promise<string[]> {
  return leftoverProcesses(() => processesMarked(marker), ms);
}

/** Waits up to `ms` for `find` to find no process; returns those left. */
export async function leftoverProcesses(find: () => string[], ms = 10_000): Promise<string[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const left = find();
    if (left.length === 0 || Date.now() > deadline) return left;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Resolves once the output satisfies `test`, or fails after `ms`. */
export async function waitForOutput(
  launched: Launched,
  test: (output: string) => boolean,
  ms = 60_000,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!test(launched.output())) {
    if (Date.now() > deadline) throw new Error(`timed out; output so far:\n${launched.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
