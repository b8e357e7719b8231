import { GetParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import type { Config } from './config.js';
import { ServiceError } from './errors.js';

/** The secret could not be read from SSM. Names the parameter, never a value. */
export class SecretUnavailableError extends ServiceError {}

/**
 * Resolves the Weiban secret on first use and keeps it in memory. Only a token fetch needs
 * it, so a warm run with a cached token never calls SSM.
 */
export function secretSource(secret: Config['secret'], ssm: SSMClient): () => Promise<string> {
  if (secret.kind === 'plain') return () => Promise.resolve(secret.value);
  let pending: Promise<string> | undefined;
  return () => {
    pending ??= readParameter(ssm, secret.name).catch((error: unknown) => {
      pending = undefined;
      throw error;
    });
    return pending;
  };
}

async function readParameter(ssm: SSMClient, name: string): Promise<string> {
  try {
    const out = await ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
    const value = out.Parameter?.Value;
    if (value === undefined || value === '') {
      throw new SecretUnavailableError(`SSM parameter ${name} is empty`);
    }
    return value;
  } catch (error: unknown) {
    if (error instanceof SecretUnavailableError) throw error;
    const reason = error instanceof Error ? error.name : 'unknown error';
    throw new SecretUnavailableError(`cannot read SSM parameter ${name} (${reason})`);
  }
}
