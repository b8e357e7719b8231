import { SSMProvider } from '@aws-lambda-powertools/parameters/ssm';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { systemClock, type Clock } from './clock.js';
import type { Config } from './config.js';
import { ServiceError } from './errors.js';

/** The secret could not be read from SSM. Names the parameter, never a value. */
export class SecretUnavailableError extends ServiceError {}

/**
 * How long a secret read from SSM is used before it is read again: an operator who rotates
 * it in Weiban and SSM sees it in use within this time, even while Weiban still accepts the
 * old one.
 */
export const SECRET_MAX_AGE_S = 300;

/** The Weiban secret, wherever it is kept. */
export interface SecretSource {
  /** The secret; from memory while it is younger than SECRET_MAX_AGE_S. */
  get(): Promise<string>;
  /** The secret read again now, e.g. after Weiban refused the one in memory. */
  reread(): Promise<string>;
}

/**
 * The Weiban secret: plain from the config, or an SSM SecureString read on first use through
 * Powertools Parameters and kept for SECRET_MAX_AGE_S. Only a token fetch needs it, so a warm
 * run with a cached token never calls SSM.
 */
export function secretSource(
  secret: Config['secret'],
  ssm: SSMClient,
  clock: Clock = systemClock,
): SecretSource {
  if (secret.kind === 'plain') {
    const value = () => Promise.resolve(secret.value);
    return { get: value, reread: value };
  }
  const provider = new ClockedSsmProvider(ssm, clock);
  const read = async (forceFetch: boolean): Promise<string> => {
    let value: string | undefined;
    try {
      value = await provider.get(secret.name, {
        decrypt: true,
        maxAge: SECRET_MAX_AGE_S,
        forceFetch,
      });
    } catch (error: unknown) {
      throw new SecretUnavailableError(
        `cannot read SSM parameter ${secret.name} (${reasonOf(error)})`,
      );
    }
    if (value === undefined || value === '') {
      // Not kept: the next token fetch reads it again instead of failing for the whole maxAge.
      provider.clearCache();
      throw new SecretUnavailableError(`SSM parameter ${secret.name} is empty`);
    }
    return value;
  };
  return { get: () => read(false), reread: () => read(true) };
}

/**
 * Powertools' SSM provider, its cache aged by a Clock instead of the system time, so a test or
 * the benchmark can move time without sleeping. Caching rules (maxAge, forceFetch) are its own.
 */
class ClockedSsmProvider extends SSMProvider {
  readonly #clock: Clock;
  readonly #expiresAt = new Map<string, number>();

  constructor(ssm: SSMClient, clock: Clock) {
    super({ awsSdkV3Client: ssm });
    this.#clock = clock;
  }

  override addToCache(key: string, value: unknown, maxAge: number): void {
    super.addToCache(key, value, maxAge);
    if (maxAge > 0) this.#expiresAt.set(key, this.#clock.now() + maxAge * 1000);
  }

  override hasKeyExpiredInCache(key: string): boolean {
    const expiresAt = this.#expiresAt.get(key);
    return expiresAt === undefined || !this.store.has(key) || this.#clock.now() >= expiresAt;
  }

  override clearCache(): void {
    super.clearCache();
    this.#expiresAt.clear();
  }
}

/** The SDK error's name (Powertools wraps it), e.g. ParameterNotFound or AccessDeniedException. */
function reasonOf(error: unknown): string {
  if (!(error instanceof Error)) return 'unknown error';
  return error.cause instanceof Error ? error.cause.name : error.name;
}
