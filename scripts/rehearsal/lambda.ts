import { createHash } from 'node:crypto';
import { mkdir, readFile, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FunctionConfiguration } from '@aws-sdk/client-lambda';
import { extractZip } from '../../dev/zip.js';
import { RehearsalError, tail } from './errors.js';
import { run } from './processes.js';

const RUNTIME = fileURLToPath(new URL('lambda-runtime.js', import.meta.url));

/** The deployed function as moto returns it (GetFunctionConfiguration). */
export interface DeployedFunction {
  readonly name: string;
  readonly arn: string;
  readonly handler: string;
  readonly timeoutSeconds: number;
  readonly memoryMb: number;
  readonly runtime: string | undefined;
  readonly architectures: readonly string[];
  readonly codeSha256: string;
  readonly env: Readonly<Record<string, string>>;
}

export function deployedFunction(config: FunctionConfiguration): DeployedFunction {
  const { FunctionName, FunctionArn, Handler, Timeout, MemorySize, CodeSha256 } = config;
  if (
    FunctionName === undefined ||
    FunctionArn === undefined ||
    Handler === undefined ||
    Timeout === undefined ||
    MemorySize === undefined ||
    CodeSha256 === undefined
  ) {
    throw new RehearsalError(
      'GetFunctionConfiguration returned no name, ARN, handler, timeout, memory size or code hash',
    );
  }
  return {
    name: FunctionName,
    arn: FunctionArn,
    handler: Handler,
    timeoutSeconds: Timeout,
    memoryMb: MemorySize,
    runtime: config.Runtime,
    architectures: config.Architectures ?? [],
    codeSha256: CodeSha256,
    env: config.Environment?.Variables ?? {},
  };
}

/** An unpacked package, ready to run like the Lambda runtime would. */
export interface TaskRoot {
  readonly dir: string;
  /** Where the runtime's own modules are: only @aws-sdk/*, as on Lambda. */
  readonly nodePath: string;
}

/**
 * Unpacks the package zip into `dir` after checking it is the code the function was deployed
 * with (CodeSha256), and links the repository's @aws-sdk/* as the runtime's: the bundle leaves
 * them out, and nothing else may be found outside the package.
 */
export async function unpackFunction(
  zipPath: string,
  dir: string,
  fn: DeployedFunction,
  root: string,
): Promise<TaskRoot> {
  const zip = await readFile(zipPath);
  const sha256 = createHash('sha256').update(zip).digest('base64');
  if (sha256 !== fn.codeSha256) {
    throw new RehearsalError(
      `${zipPath} is not the code ${fn.name} was deployed with (CodeSha256 ${fn.codeSha256}, the file hashes to ${sha256})`,
    );
  }
  const taskRoot = join(dir, 'task');
  await extractZip(zipPath, taskRoot);
  const nodePath = join(dir, 'runtime', 'node_modules');
  await mkdir(nodePath, { recursive: true });
  await symlink(join(root, 'node_modules', '@aws-sdk'), join(nodePath, '@aws-sdk'), 'dir');
  return { dir: taskRoot, nodePath };
}

export interface Invocation {
  readonly fn: DeployedFunction;
  readonly task: TaskRoot;
  /** Variables of this process's choosing: PATH, and the AWS endpoint and credentials. */
  readonly base: Readonly<Record<string, string>>;
  /** Deployed variables replaced for the rehearsal, e.g. WEIBAN_BASE_URL. */
  readonly overrides: Readonly<Record<string, string>>;
  readonly event: unknown;
  readonly signal?: AbortSignal | undefined;
}

/**
 * One invocation of the packaged handler in a child Node process whose environment is the
 * function's own plus what the Lambda runtime sets. Resolves to the handler's result.
 */
export async function invoke({
  fn,
  task,
  base,
  overrides,
  event,
  signal,
}: Invocation): Promise<unknown> {
  const env = {
    ...base,
    ...fn.env,
    ...overrides,
    // What the Lambda runtime sets (reserved: a function cannot set them itself).
    AWS_LAMBDA_FUNCTION_NAME: fn.name,
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memoryMb),
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${fn.name}`,
    LAMBDA_TASK_ROOT: task.dir,
    NODE_PATH: task.nodePath,
    TZ: ':UTC',
  };
  let answer: unknown;
  const finished = await run(
    process.execPath,
    [
      RUNTIME,
      JSON.stringify({
        taskRoot: task.dir,
        handler: fn.handler,
        timeoutSeconds: fn.timeoutSeconds,
        functionArn: fn.arn,
        event,
      }),
    ],
    {
      cwd: task.dir,
      env,
      // The function's own timeout, and a little for the process to start and answer.
      timeoutMs: fn.timeoutSeconds * 1000 + 10_000,
      signal,
      onMessage: (message) => {
        answer = message;
      },
    },
  );
  const tails = [{ label: `${fn.name} output`, text: tail(finished.output, 30) }];
  if (!isAnswer(answer)) {
    throw new RehearsalError(
      `the packaged handler's process ended (${finished.signal ?? `exit ${finished.code ?? '?'}`}) without answering`,
      { tails },
    );
  }
  if (!answer.ok) {
    throw new RehearsalError(
      `the packaged handler failed: ${answer.error?.name ?? 'Error'}: ${answer.error?.message ?? ''}`,
      { tails },
    );
  }
  return answer.result;
}

interface Answer {
  readonly ok: boolean;
  readonly result?: unknown;
  readonly error?: { readonly name: string; readonly message: string };
}

function isAnswer(value: unknown): value is Answer {
  return (
    typeof value === 'object' && value !== null && 'ok' in value && typeof value.ok === 'boolean'
  );
}
