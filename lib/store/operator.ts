import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  GetCommand,
  QueryCommand,
  ScanCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
  type QueryCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { LeaseHeldError } from '../errors.js';
import type { FormList, FormState, Window } from '../model.js';
import type { SubmitterRecord } from '../ports.js';
import { listFromItem, stateFromItem } from './form-state.js';
import {
  BY_SUBMIT_AT_INDEX,
  FORM_LIST_KEY,
  formPk,
  STATE_SK,
  SUBMITTER_SK_PREFIX,
  submitterSk,
  uIdFromSk,
} from './keys.js';

/**
 * The table as the operator's CLI sees it: every form's state, counts and by-time reads of the
 * dedupe records, and the reset that moves a cursor back (docs/guarantees.md#g7). Scans and counts are costly on a
 * large table, so none of this is on the poller's path.
 */
export class OperatorStore {
  readonly #client: DynamoDBDocumentClient;
  readonly #tableName: string;

  constructor({ client, tableName }: { client: DynamoDBDocumentClient; tableName: string }) {
    this.#client = client;
    this.#tableName = tableName;
  }

  /** One form's state, if it has any. */
  async form(formId: number): Promise<FormState | undefined> {
    const out = await this.#client.send(
      new GetCommand({
        TableName: this.#tableName,
        Key: { pk: formPk(formId), sk: STATE_SK },
        ConsistentRead: true,
      }),
    );
    return out.Item === undefined ? undefined : stateFromItem(out.Item);
  }

  /** Every form that has state, by form id: a scan of the whole table. */
  async forms(): Promise<FormState[]> {
    const states: FormState[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const out = await this.#client.send(
        new ScanCommand({
          TableName: this.#tableName,
          FilterExpression: 'sk = :state',
          ExpressionAttributeValues: { ':state': STATE_SK },
          ...(startKey !== undefined && { ExclusiveStartKey: startKey }),
        }),
      );
      for (const item of out.Items ?? []) states.push(stateFromItem(item));
      startKey = out.LastEvaluatedKey;
    } while (startKey !== undefined);
    return states.sort((a, b) => a.formId - b.formId);
  }

  /** Moves a form's cursor to `to` and drops any continuation: the operator's reset (docs/guarantees.md#g7). */
  async reset(formId: number, to: number, now: number): Promise<FormState> {
    try {
      const out = await this.#client.send(
        new UpdateCommand({
          TableName: this.#tableName,
          Key: { pk: formPk(formId), sk: STATE_SK },
          UpdateExpression:
            'SET #cursor = :to, #origin = :to, start_mode = :time, form_id = :form, updated_at = :now ' +
            'REMOVE continuation, last_error ADD #version :one',
          ConditionExpression: 'attribute_not_exists(lease_until) OR lease_until < :now',
          ExpressionAttributeNames: {
            '#cursor': 'cursor',
            '#origin': 'origin',
            '#version': 'version',
          },
          ExpressionAttributeValues: {
            ':to': to,
            ':time': 'time',
            ':now': now,
            ':one': 1,
            ':form': formId,
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return stateFromItem(out.Attributes ?? {});
    } catch (error: unknown) {
      if (error instanceof ConditionalCheckFailedException) throw new LeaseHeldError(formId);
      throw error;
    }
  }

  /** The forms to poll, and those removed; empty when no list exists yet. */
  async formList(): Promise<FormList> {
    const out = await this.#client.send(
      new GetCommand({ TableName: this.#tableName, Key: FORM_LIST_KEY, ConsistentRead: true }),
    );
    return out.Item === undefined ? { formIds: [], removed: new Map() } : listFromItem(out.Item);
  }

  /**
   * Adds forms to the list; the poller takes them on its next run, with no deploy. A form added
   * back after a removal resumes from its cursor, never from its history (G7).
   */
  async addForms(formIds: readonly number[], now: number): Promise<FormList> {
    await this.#ensureList(now);
    return this.#changeList(
      'ADD form_ids :ids REMOVE ' + formIds.map((_, i) => `removed.#f${i}`).join(', '),
      formIds,
      now,
    );
  }

  /** Takes forms off the list; their state stays, and FORM_IDS never seeds them again. */
  async removeForms(formIds: readonly number[], now: number): Promise<FormList> {
    await this.#ensureList(now);
    return this.#changeList(
      `DELETE form_ids :ids SET ${formIds.map((_, i) => `removed.#f${i} = :now`).join(', ')}`,
      formIds,
      now,
    );
  }

  // `removed` exists before an update names one of its entries.
  async #ensureList(now: number): Promise<void> {
    await this.#client.send(
      new UpdateCommand({
        TableName: this.#tableName,
        Key: FORM_LIST_KEY,
        UpdateExpression: 'SET removed = if_not_exists(removed, :empty), updated_at = :now',
        ExpressionAttributeValues: { ':empty': {}, ':now': now },
      }),
    );
  }

  async #changeList(
    expression: string,
    formIds: readonly number[],
    now: number,
  ): Promise<FormList> {
    const out = await this.#client.send(
      new UpdateCommand({
        TableName: this.#tableName,
        Key: FORM_LIST_KEY,
        UpdateExpression: expression,
        ExpressionAttributeNames: Object.fromEntries(
          formIds.map((formId, i) => [`#f${i}`, String(formId)]),
        ),
        ExpressionAttributeValues: {
          ':ids': new Set(formIds),
          ...(expression.includes(':now') && { ':now': now }),
        },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return listFromItem(out.Attributes ?? {});
  }

  /** How many submitters the form has recorded: a COUNT query over its partition. */
  recordedCount(formId: number): Promise<number> {
    return this.#count({
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': formPk(formId), ':prefix': SUBMITTER_SK_PREFIX },
    });
  }

  /** How many recorded submitters of the form have `submit_at` in `range` (index by_submit_at). */
  recordedCountBySubmitAt(formId: number, range: Window): Promise<number> {
    return this.#count(bySubmitAtQuery(formId, range));
  }

  /** One recorded submitter with the event that was published for it. */
  async record(formId: number, uId: number): Promise<SubmitterRecord | undefined> {
    const out = await this.#client.send(
      new GetCommand({
        TableName: this.#tableName,
        Key: { pk: formPk(formId), sk: submitterSk(uId) },
        ConsistentRead: true,
      }),
    );
    return out.Item === undefined ? undefined : toRecord(out.Item);
  }

  /**
   * The form's recorded submitters with `submit_at` in `range`, oldest first, one DynamoDB page
   * at a time, each with the event published for it. For replay (index by_submit_at).
   */
  async *recordsBySubmitAt(formId: number, range: Window): AsyncGenerator<SubmitterRecord[]> {
    let startKey: Record<string, unknown> | undefined;
    do {
      const out = await this.#client.send(
        new QueryCommand({
          TableName: this.#tableName,
          ...bySubmitAtQuery(formId, range),
          ...(startKey !== undefined && { ExclusiveStartKey: startKey }),
        }),
      );
      const records = (out.Items ?? []).map(toRecord);
      if (records.length > 0) yield records;
      startKey = out.LastEvaluatedKey;
    } while (startKey !== undefined);
  }

  async #count(
    query: Pick<
      QueryCommandInput,
      'IndexName' | 'KeyConditionExpression' | 'ExpressionAttributeValues'
    >,
  ): Promise<number> {
    let total = 0;
    let startKey: Record<string, unknown> | undefined;
    do {
      const out = await this.#client.send(
        new QueryCommand({
          TableName: this.#tableName,
          ...query,
          Select: 'COUNT',
          ...(startKey !== undefined && { ExclusiveStartKey: startKey }),
        }),
      );
      total += out.Count ?? 0;
      startKey = out.LastEvaluatedKey;
    } while (startKey !== undefined);
    return total;
  }
}

function bySubmitAtQuery(formId: number, range: Window) {
  return {
    IndexName: BY_SUBMIT_AT_INDEX,
    KeyConditionExpression: 'pk = :pk AND submit_at BETWEEN :start AND :end',
    ExpressionAttributeValues: {
      ':pk': formPk(formId),
      ':start': range.start,
      ':end': range.end,
    },
  };
}

function toRecord(item: Record<string, unknown>): SubmitterRecord {
  return {
    uId: uIdFromSk(String(item.sk)),
    submitAt: Number(item.submit_at),
    event: String(item.event),
  };
}
