import { Redactor } from '../errors.js';

/**
 * The endpoint URL as it may be shown: scheme, host, port and path, with every query value
 * and a Feishu hook token masked. Robot URLs carry their key there (docs/receivers.md).
 */
export function describeUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return '(unreadable URL)';
  }
  const path = url.pathname.replace(/(\/hook\/)[^/]+/, '$1***');
  const query = [...url.searchParams.keys()].map((key) => `${key}=***`).join('&');
  return `${url.protocol}//${url.host}${path}${query === '' ? '' : `?${query}`}`;
}

/**
 * Every credential a URL carries: each query value, a hook token in the path, userinfo and
 * the URL itself, to mask wherever outside text might echo one.
 */
export function urlSecrets(raw: string): string[] {
  const secrets = [raw];
  try {
    const url = new URL(raw);
    for (const value of url.searchParams.values()) secrets.push(value, encodeURIComponent(value));
    const token = /\/hook\/([^/]+)/.exec(url.pathname)?.[1];
    if (token !== undefined) secrets.push(token);
    if (url.password !== '') secrets.push(url.password);
  } catch {
    // not a URL: the raw text alone is masked
  }
  return secrets;
}

/** A Redactor that already knows every secret of `url` and `secrets`. */
export function redactorFor(url: string, secrets: readonly string[] = []): Redactor {
  const redactor = new Redactor();
  redactor.add(...urlSecrets(url), ...secrets);
  return redactor;
}
