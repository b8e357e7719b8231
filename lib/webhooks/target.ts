import { ServiceError, type Redactor } from '../errors.js';
import { checkUrl, type Endpoint } from './endpoints.js';
import { ParameterUnavailableError } from './parameters.js';
import type { ParameterSource } from './ports.js';
import { describeUrl, redactorFor } from './redact.js';
import { SigningSetupError, signingKeys } from './standard.js';

/** Where and how to send for one endpoint, with what must never be shown. */
export interface Target {
  readonly url: string;
  /** The URL as it may be shown (keys and tokens masked). */
  readonly shown: string;
  readonly redactor: Redactor;
  /** `standard`: the keys to sign with now (two during a rotation). */
  readonly keys?: readonly Buffer[];
  /** Feishu and DingTalk: the robot's signing secret, when it has one. */
  readonly secret?: string;
}

/** The endpoint cannot be sent to as configured (or its settings cannot be read right now). */
export class TargetError extends ServiceError {
  constructor(
    readonly permanent: boolean,
    message: string,
  ) {
    super(message);
  }
}

/** Reads the endpoint's URL and secret (SSM, cached) and checks them before any send. */
export async function resolveTarget(
  endpoint: Endpoint,
  parameters: ParameterSource,
  { allowLoopback, nowMs }: { allowLoopback: boolean; nowMs: number },
): Promise<Target> {
  try {
    const url = endpoint.url ?? (await parameters.get(endpoint.urlParam ?? ''));
    const problem = checkUrl(url, allowLoopback);
    if (problem !== undefined) {
      throw new TargetError(true, `the URL in ${endpoint.urlParam ?? 'url'} ${problem}`);
    }
    const secretValue =
      endpoint.secretParam === undefined ? undefined : await parameters.get(endpoint.secretParam);
    const secrets = secretValue === undefined ? [] : secretCandidates(secretValue);
    const base = { url, shown: describeUrl(url), redactor: redactorFor(url, secrets) };
    if (endpoint.format === 'standard') {
      if (secretValue === undefined) throw new TargetError(true, 'no signing secret is set');
      return { ...base, keys: signingKeys(secretValue, nowMs) };
    }
    return secretValue === undefined ? base : { ...base, secret: secretValue };
  } catch (error: unknown) {
    if (error instanceof TargetError) throw error;
    if (error instanceof ParameterUnavailableError) {
      throw new TargetError(error.permanent, error.message);
    }
    if (error instanceof SigningSetupError) {
      throw new TargetError(true, `${endpoint.secretParam ?? 'the secret'}: ${error.message}`);
    }
    throw error;
  }
}

/** The secret as stored, and each whsec_ secret inside a rotation's JSON. */
function secretCandidates(value: string): string[] {
  const found = value.match(/whsec_[A-Za-z0-9+/=]+/g) ?? [];
  return [value, ...found, ...found.map((secret) => secret.slice('whsec_'.length))];
}
