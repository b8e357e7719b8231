import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ServiceError } from '../errors.js';
import { findingsSchema, type WeibanFindings } from '../weiban/findings.js';
import { describeIssues } from '../weiban/schemas.js';
import { corpPk, FINDINGS_SK } from './keys.js';

/** A findings item the code cannot read (another version, or edited by hand). */
export class FindingsFormatError extends ServiceError {}

/**
 * The corp's probe findings, one item `CORP#<corp>/FINDINGS`. The findings are kept as JSON text,
 * beside the form and time they were learned, so the item reads at a glance in the console.
 */
export class DynamoFindingsStore {
  readonly #client: DynamoDBDocumentClient;
  readonly #tableName: string;
  readonly #key: { pk: string; sk: string };

  constructor({
    client,
    tableName,
    corpId,
  }: {
    client: DynamoDBDocumentClient;
    tableName: string;
    corpId: string;
  }) {
    this.#client = client;
    this.#tableName = tableName;
    this.#key = { pk: corpPk(corpId), sk: FINDINGS_SK };
  }

  /** Replaces whatever an earlier probe saved. */
  async save(findings: WeibanFindings): Promise<void> {
    await this.#client.send(
      new PutCommand({
        TableName: this.#tableName,
        Item: {
          ...this.#key,
          version: findings.version,
          form_id: findings.formId,
          learned_at: findings.learnedAt,
          findings: JSON.stringify(findings),
        },
      }),
    );
  }

  /** The saved findings; undefined when none were saved. Throws FindingsFormatError when unreadable. */
  async load(): Promise<WeibanFindings | undefined> {
    const out = await this.#client.send(
      new GetCommand({ TableName: this.#tableName, Key: this.#key, ConsistentRead: true }),
    );
    const text: unknown = out.Item?.findings;
    if (out.Item === undefined) return undefined;
    if (typeof text !== 'string') {
      throw new FindingsFormatError('the saved probe findings have no findings text');
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new FindingsFormatError('the saved probe findings are not JSON');
    }
    const parsed = findingsSchema.safeParse(json);
    if (!parsed.success) {
      throw new FindingsFormatError(
        `the saved probe findings cannot be read: ${describeIssues(parsed.error)}`,
      );
    }
    return parsed.data;
  }
}
