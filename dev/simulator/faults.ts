import { JSON_TYPE, defaultErrmsg, errorAnswer, type Answer } from './answers.js';
import type { Endpoint, Fault } from './types.js';

interface Pending {
  fault: Fault;
  remaining: number;
}

/** Scripted faults in the order they were added; the first match answers and is consumed. */
export class FaultQueue {
  #pending: Pending[] = [];

  add(fault: Fault): void {
    const times = fault.times ?? 1;
    if (!(times >= 1)) throw new RangeError('fault.times must be at least 1');
    if (fault.kind === 'slow' && !(fault.delayMs >= 0)) {
      throw new RangeError('fault.delayMs must not be negative');
    }
    this.#pending.push({ fault, remaining: times });
  }

  clear(): void {
    this.#pending = [];
  }

  /** The first fault matching this request, with one of its `times` used up. */
  take(endpoint: Endpoint, formId: number | undefined): Fault | undefined {
    const index = this.#pending.findIndex(
      ({ fault }) =>
        (fault.endpoint === undefined || fault.endpoint === endpoint) &&
        (fault.formId === undefined || fault.formId === formId),
    );
    const pending = this.#pending[index];
    if (pending === undefined) return undefined;
    pending.remaining -= 1;
    if (pending.remaining <= 0) this.#pending.splice(index, 1);
    return pending.fault;
  }
}

// Weiban: nothing says a non-200 status is used, but a proxy in front may send HTML 502/504.
const gatewayPage = (status: number, reason: string): string =>
  `<html>\r\n<head><title>${status} ${reason}</title></head>\r\n<body>\r\n` +
  `<center><h1>${status} ${reason}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`;

const TRUNCATED: Record<Endpoint, string> = {
  token: '{"errcode":0,"errmsg":"ok","access_token":"3b1f9c',
  list: '{"errcode":0,"errmsg":"ok","total":2,"result":[{"u_id":768,"form_id":842,"form_name":"表单',
  submissions: '{"errcode":0,"errmsg":"ok","total":1,"result":[{"id":1,"deleted":false,"form_id"',
  groups: '{"errcode":0,"errmsg":"ok","total":2,"result":[{"id":1,"na',
};

/** The answer a fault sends instead of the real one; `undefined` when it only delays (slow). */
export function faultAnswer(fault: Fault, endpoint: Endpoint): Answer | undefined {
  switch (fault.kind) {
    case 'html502':
      return html(502, 'Bad Gateway');
    case 'html504':
      return html(504, 'Gateway Time-out');
    case 'empty':
      return { status: 200, contentType: JSON_TYPE, body: '', errorKey: 'empty' };
    case 'truncated':
      return {
        status: 200,
        contentType: JSON_TYPE,
        body: TRUNCATED[endpoint],
        errorKey: 'truncated',
      };
    case 'nonjson':
      return {
        status: 200,
        contentType: 'text/plain; charset=utf-8',
        body: 'Service Unavailable, please try again later',
        errorKey: 'nonjson',
      };
    case 'errcode':
      return errorAnswer(fault.errcode, fault.errmsg ?? defaultErrmsg(fault.errcode));
    case 'body':
      return bodyAnswer(fault.body, fault.status ?? 200);
    case 'slow':
      return undefined;
  }
}

function html(status: number, reason: string): Answer {
  return {
    status,
    contentType: 'text/html',
    body: gatewayPage(status, reason),
    errorKey: String(status),
  };
}

/** A raw body counts under its errcode when it has a non-zero one, else under a non-200 status. */
function bodyAnswer(body: string, status: number): Answer {
  const errcode = errcodeOf(body);
  const errorKey =
    errcode !== undefined && errcode !== 0
      ? String(errcode)
      : status === 200
        ? undefined
        : String(status);
  const answer: Answer = { status, contentType: JSON_TYPE, body };
  if (errorKey !== undefined) answer.errorKey = errorKey;
  return answer;
}

function errcodeOf(body: string): number | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined; // a hostile body need not be JSON at all
  }
  if (typeof parsed !== 'object' || parsed === null || !('errcode' in parsed)) return undefined;
  return typeof parsed.errcode === 'number' ? parsed.errcode : undefined;
}
