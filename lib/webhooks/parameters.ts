import { GetParameterError, ParameterNotFoundError } from '@aws-lambda-powertools/parameters';
import { SSMProvider } from '@aws-lambda-powertools/parameters/ssm';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { ServiceError } from '../errors.js';

/** A URL or secret could not be read. Names the parameter, never a value. */
export class ParameterUnavailableError extends ServiceError {
  constructor(
    readonly parameter: string,
    /** True when reading again cannot help: missing, denied or empty. */
    readonly permanent: boolean,
    detail: string,
  ) {
    super(`SSM parameter ${parameter} ${detail}`);
  }
}

// SSM errors that say the parameter is not there for us, rather than "try again".
const PERMANENT = new Set([
  'ParameterNotFound',
  'ParameterVersionNotFound',
  'AccessDeniedException',
  'InvalidKeyId',
]);

/**
 * The endpoints' URLs and secrets from SSM SecureStrings (Powertools Parameters), cached for
 * five minutes, so that a rotated secret or a changed URL is picked up within that time.
 */
export class SsmParameters {
  readonly #provider: SSMProvider;
  readonly #maxAgeSeconds: number;

  constructor({ client, maxAgeSeconds = 300 }: { client: SSMClient; maxAgeSeconds?: number }) {
    this.#provider = new SSMProvider({ awsSdkV3Client: client });
    this.#maxAgeSeconds = maxAgeSeconds;
  }

  async get(name: string): Promise<string> {
    let value: unknown;
    try {
      value = await this.#provider.get(name, {
        decrypt: true,
        maxAge: this.#maxAgeSeconds,
        throwOnMissing: true,
      });
    } catch (error: unknown) {
      if (error instanceof ParameterNotFoundError) {
        throw new ParameterUnavailableError(name, true, 'does not exist');
      }
      const cause = error instanceof GetParameterError ? error.cause : error;
      const kind = cause instanceof Error ? cause.name : 'unknown error';
      throw new ParameterUnavailableError(name, PERMANENT.has(kind), `cannot be read (${kind})`);
    }
    if (typeof value !== 'string' || value.trim() === '') {
      throw new ParameterUnavailableError(name, true, 'is empty');
    }
    return value.trim();
  }
}
