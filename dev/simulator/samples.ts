import { seededUint32 } from './random.js';
import type { SimComponentValue, SimRow, SimSubmission } from './types.js';

type NonEmpty<T> = readonly [T, ...T[]];

const CITIES: NonEmpty<string> = ['上海市', '北京市', '南昌市', '武汉市', '深圳市', '杭州市'];
const NAMES: NonEmpty<string> = [
  '张伟',
  '王芳',
  '李娜',
  '刘洋',
  '陈静',
  '杨磊',
  '赵敏',
  '黄强',
  '周婷',
  '吴昊',
  'Cosmos',
];
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

interface Question {
  componentId: number;
  type: 'radio' | 'checkbox' | 'input';
  title: string;
  options: NonEmpty<string>;
}

const QUESTIONS: NonEmpty<Question> = [
  { componentId: 101, type: 'radio', title: '您的性别', options: ['男', '女'] },
  {
    componentId: 102,
    type: 'radio',
    title: '您从哪里了解到我们',
    options: ['朋友推荐', '公众号', '线下活动', '企业微信'],
  },
  {
    componentId: 103,
    type: 'checkbox',
    title: '感兴趣的课程',
    options: ['数学', '英语', '物理', '编程'],
  },
  { componentId: 104, type: 'input', title: '联系电话', options: ['138'] },
  {
    componentId: 105,
    type: 'input',
    title: '备注',
    options: ['周末有空', '请电话联系', '无', '希望尽快安排'],
  },
];

/** Realistic-looking sample values from a seeded generator, so the same seed gives the same rows. */
export class SampleGenerator {
  readonly #uint32: () => number;
  #nextSubmissionId = 1;
  #nextRelationId = 1;

  constructor(seed: number) {
    this.#uint32 = seededUint32(seed);
  }

  /** A default `form_name`, shaped like the doc's "表单名称874". */
  formName(formId: number): string {
    return `表单名称${formId}`;
  }

  /** A full row for `uId`, with the caller's fields on top. */
  row(
    base: Pick<SimRow, 'u_id' | 'form_id' | 'form_name' | 'submit_at'>,
    over: Partial<SimRow>,
  ): SimRow {
    return {
      u_id: base.u_id,
      form_id: base.form_id,
      form_name: over.form_name ?? base.form_name,
      status: over.status ?? 'submit',
      submit_at: base.submit_at,
      external_user_id: over.external_user_id ?? `wm${this.#chars(30)}`,
      unionid: over.unionid ?? `o${this.#chars(27)}`,
      user_name: over.user_name ?? this.#pick(NAMES),
      user_city: over.user_city ?? this.#pick(CITIES),
      avatar: over.avatar ?? `https://thirdwx.qlogo.cn/mmopen/vi_32/${this.#chars(40)}/132`,
    };
  }

  /** One submission of `row`, answering two or three questions. */
  submission(row: SimRow, submitAt: number): SimSubmission {
    const count = this.#int(2, 3);
    const picked = this.#shuffle([...QUESTIONS]).slice(0, count);
    return {
      id: this.#nextSubmissionId++,
      deleted: false,
      form_id: row.form_id,
      scr_id: row.u_id,
      time_spent: this.#int(15, 300),
      user_city: row.user_city,
      submit_at: submitAt,
      component_value_list: picked.map((question) => this.#answer(question)),
    };
  }

  #answer(question: Question): SimComponentValue {
    let values: string[];
    if (question.type === 'checkbox') {
      values = this.#shuffle([...question.options]).slice(0, this.#int(1, 2));
    } else if (question.title === '联系电话') {
      values = [`138${String(this.#int(0, 99_999_999)).padStart(8, '0')}`];
    } else {
      values = [this.#pick(question.options)];
    }
    return {
      relation_id: this.#nextRelationId++,
      component_id: question.componentId,
      component_type: question.type,
      title: question.title,
      value: values.join(','),
      values,
    };
  }

  #next(): number {
    return this.#uint32() / 4_294_967_296;
  }

  #int(min: number, max: number): number {
    return min + Math.floor(this.#next() * (max - min + 1));
  }

  #pick<T>(items: NonEmpty<T>): T {
    return items[this.#int(0, items.length - 1)] ?? items[0];
  }

  /** Five base-62 characters per draw: 62^5 < 2^32. */
  #chars(length: number): string {
    let out = '';
    while (out.length < length) {
      let bits = this.#uint32();
      for (let k = 0; k < 5 && out.length < length; k += 1) {
        out += ALNUM.charAt(bits % ALNUM.length);
        bits = Math.floor(bits / ALNUM.length);
      }
    }
    return out;
  }

  #shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i -= 1) {
      const j = this.#int(0, i);
      const a = items[i];
      const b = items[j];
      if (a === undefined || b === undefined) continue;
      items[i] = b;
      items[j] = a;
    }
    return items;
  }
}
