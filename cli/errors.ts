import { ConfigError } from '../lib/config.js';
import { ServiceError } from '../lib/errors.js';

/** A failure the operator caused or must act on; its message is the whole story. */
export class CliError extends Error {
  override readonly name: string = 'CliError';
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** The command line itself is wrong: exit code 2, like other Unix tools. */
export class UsageError extends CliError {
  override readonly name = 'UsageError';
  constructor(message: string) {
    super(message, 2);
  }
}

/** The operator pressed Ctrl-C; the command stopped cleanly. */
export const INTERRUPTED_EXIT = 130;

/**
 * One sentence for any failure, never a stack trace: the CLI's own errors and the service's
 * say what they mean already; SDK and network errors get the hint an operator needs.
 */
export function explain(error: unknown): string {
  if (error instanceof CliError || error instanceof ConfigError) return error.message;
  if (error instanceof ServiceError) return error.message;
  if (!(error instanceof Error)) return 'an unknown error occurred';
  const code = errorCode(error);
  if (code === 'ECONNREFUSED') {
    const where = /ECONNREFUSED ([\w.:[\]-]+)/.exec(messageChain(error))?.[1] ?? 'the endpoint';
    return `could not connect to ${where} (connection refused): is it running? Against the local stack, keep npm start running and use the endpoints it prints`;
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return `could not resolve an AWS or Weiban host (${code}): check the network and --region`;
  }
  switch (error.name) {
    case 'CredentialsProviderError':
      return 'no AWS credentials were found: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (any values work against the local emulators)';
    case 'ResourceNotFoundException':
      return `DynamoDB says the table does not exist (${firstLine(error.message)}): check --table or --stage, and --region`;
    case 'AccessDeniedException':
    case 'AccessDenied':
    case 'AuthorizationError':
      return `AWS denied the request: ${firstLine(error.message)}`;
    case 'ExpiredTokenException':
    case 'ExpiredToken':
      return 'the AWS session has expired: log in again (e.g. aws sso login)';
    default:
      break;
  }
  if (/region is missing/i.test(error.message)) {
    return 'no AWS region is set: pass --region or set AWS_REGION';
  }
  return `${error.name}: ${firstLine(error.message)}`;
}

function errorCode(error: Error): string | undefined {
  for (let current: unknown = error; current instanceof Error; current = current.cause) {
    if ('code' in current && typeof current.code === 'string') return current.code;
  }
  return undefined;
}

function messageChain(error: Error): string {
  const parts: string[] = [];
  for (let current: unknown = error; current instanceof Error; current = current.cause) {
    parts.push(current.message);
  }
  return parts.join(' ');
}

const firstLine = (text: string): string => text.split('\n', 1)[0]?.trim() ?? '';
