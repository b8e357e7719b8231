// Plays the Lambda Node.js runtime for one invocation of a packaged handler, in a plain Node
// process (no tsx): loads the handler named by the function's `Handler` from the unpacked
// package as Lambda does, calls it with the event and a context, and sends the outcome to the
// parent over IPC. Run by scripts/rehearsal/lambda.ts.
//
//   node lambda-runtime.js '{"taskRoot", "handler": "functions/poll.handler", "timeoutSeconds",
//                            "functionArn", "event"}'
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import process from 'node:process';
import { pathToFileURL } from 'node:url';

const {
  taskRoot,
  handler: handlerName,
  timeoutSeconds,
  functionArn,
  event,
} = JSON.parse(process.argv[2] ?? '{}');

function finish(message) {
  process.send(message, () => {
    // Lambda freezes the process after the answer; open sockets must not keep it alive here.
    process.exit(0);
  });
}

function describe(error) {
  return error instanceof Error
    ? { name: error.name, message: error.message }
    : { name: 'Error', message: String(error) };
}

async function loadHandler() {
  // Lambda: "file.export", the file found with .js, .mjs or .cjs in the task root.
  const dot = handlerName.lastIndexOf('.');
  if (dot <= 0) throw new Error(`Handler "${handlerName}" is not of the form file.export`);
  const modulePath = handlerName.slice(0, dot);
  const exportName = handlerName.slice(dot + 1);
  const file = ['.js', '.mjs', '.cjs']
    .map((extension) => join(taskRoot, `${modulePath}${extension}`))
    .find((candidate) => existsSync(candidate));
  if (file === undefined) {
    throw new Error(`Handler "${handlerName}": no ${modulePath}.js, .mjs or .cjs in the package`);
  }
  const loaded = file.endsWith('.mjs')
    ? await import(pathToFileURL(file).href)
    : createRequire(file)(file);
  const handler = loaded[exportName];
  if (typeof handler !== 'function') {
    throw new Error(`Handler "${handlerName}": ${file} exports no function "${exportName}"`);
  }
  return handler;
}

try {
  const handler = await loadHandler();
  const deadline = Date.now() + timeoutSeconds * 1000;
  const context = {
    awsRequestId: randomUUID(),
    callbackWaitsForEmptyEventLoop: true,
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
    invokedFunctionArn: functionArn,
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: 'rehearsal',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
  const result = await handler(event, context);
  finish({ ok: true, result });
} catch (error) {
  finish({ ok: false, error: describe(error) });
}
