/** An HTTP answer ready to send, plus what it counts as in `stats().errors`. */
export interface Answer {
  status: number;
  contentType: string;
  body: string;
  /** Key in `stats().errors`; absent for a successful answer. */
  errorKey?: string;
}

export const JSON_TYPE = 'application/json; charset=utf-8';

// Weiban documents the codes, not every message; the simulator's own wording is marked so.
const ERRMSG: Readonly<Record<number, string>> = {
  404: 'not found', // simulator choice for paths Weiban does not serve
  405: 'method not allowed', // simulator choice
  10001: '认证错误: 请提供正确的access_token',
  10003: '无效的corp_id或secret', // simulator choice: Weiban documents no code for bad credentials
  10052: '并发请求数超过限制', // simulator wording
  10053: '请求频率超过限制', // simulator wording
  21901: '自定义表单参数校验失败',
  21902: '自定义表单数据查询失败',
};

/** A successful Weiban answer: `{errcode: 0, errmsg: 'ok', ...fields}`. */
export function ok(fields: Record<string, unknown>): Answer {
  return {
    status: 200,
    contentType: JSON_TYPE,
    body: JSON.stringify({ errcode: 0, errmsg: 'ok', ...fields }),
  };
}

/** A Weiban error with its usual message, optionally followed by what was wrong. */
export function fail(errcode: number, detail?: string, status = 200): Answer {
  const base = ERRMSG[errcode] ?? 'simulated error';
  return errorAnswer(errcode, detail === undefined ? base : `${base}: ${detail}`, status);
}

/** Weiban: errors come back inside the JSON, `{errcode, errmsg}`, with HTTP 200. */
export function errorAnswer(errcode: number, errmsg: string, status = 200): Answer {
  return {
    status,
    contentType: JSON_TYPE,
    body: JSON.stringify({ errcode, errmsg }),
    errorKey: String(errcode),
  };
}

/** The message the simulator sends with `errcode` when none is given. */
export function defaultErrmsg(errcode: number): string {
  return ERRMSG[errcode] ?? 'simulated error';
}
