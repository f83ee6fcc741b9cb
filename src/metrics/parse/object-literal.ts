// Reads the object literals trainers print as a whole line or at the end of one: JSON
// (`{"loss": 0.5}`), Python dict reprs (`{'loss': 0.51, 'learning_rate': 5e-05, 'epoch': 0.25}`,
// True/False/None, nan/inf, `np.float64(0.5)`) and JavaScript's console.log (`{ loss: 0.5 }`).
// Numeric values become pairs; nested objects are flattened with `/` (`{'eval': {'loss': 0.3}}`
// gives `eval/loss`); strings, booleans, null and lists are skipped.
import { isDigit, numberAt, scanNumber } from './numbers.ts';
import type { PairList } from './pair-list.ts';

const MAX_DEPTH = 32;

/** Appends the numeric pairs of the object literal text[start, end) to `out`; false when it is not one. */
export function readObjectLiteral(text: string, start: number, end: number, out: PairList): boolean {
  const reader = new Reader(text, end, out);
  reader.at = start;
  const mark = out.count;
  const ok = reader.object('', 0) && reader.skipSpace() === end;
  if (!ok) out.count = mark;
  return ok;
}

class Reader {
  at = 0;
  private readonly text: string;
  private readonly end: number;
  private readonly out: PairList;

  constructor(text: string, end: number, out: PairList) {
    this.text = text;
    this.end = end;
    this.out = out;
  }

  skipSpace(): number {
    while (this.at < this.end && this.text.charCodeAt(this.at) <= 32) this.at++;
    return this.at;
  }

  /** The next character that is not whitespace, or -1 at the end. */
  private peek(): number {
    return this.skipSpace() < this.end ? this.text.charCodeAt(this.at) : -1;
  }

  /** Steps over the character `peek` returned; true, for `return this.consume()`. */
  private consume(): boolean {
    this.at++;
    return true;
  }

  object(prefix: string, depth: number): boolean {
    if (depth > MAX_DEPTH || this.peek() !== 123 /* { */) return false;
    this.at++;
    if (this.peek() === 125 /* } */) return this.consume();
    for (;;) {
      const key = this.key();
      if (key === undefined || this.peek() !== 58 /* : */) return false;
      this.at++;
      if (!this.value(prefix + key, depth)) return false;
      const next = this.peek();
      this.at++;
      if (next === 125) return true;
      if (next !== 44 /* , */) return false;
      if (this.peek() === 125) return this.consume(); // trailing comma
    }
  }

  private key(): string | undefined {
    const code = this.peek();
    if (code === 34 || code === 39) return this.string();
    const start = this.at;
    while (this.at < this.end && isIdentifierChar(this.text.charCodeAt(this.at))) this.at++;
    return this.at > start ? this.text.slice(start, this.at) : undefined;
  }

  private value(key: string, depth: number): boolean {
    const code = this.peek();
    if (code === 123) return this.object(`${key}/`, depth + 1);
    if (code === 91 /* [ */ || code === 40 /* ( */) return this.skipSequence(depth + 1);
    if (code === 34 || code === 39) return this.string() !== undefined;
    const numberEnd = scanNumber(this.text, this.at);
    if (numberEnd !== -1 && numberEnd <= this.end && !isIdentifierChar(this.text.charCodeAt(numberEnd))) {
      this.out.add(key, numberAt(this.text, this.at, numberEnd));
      this.at = numberEnd;
      return true;
    }
    return this.word(key);
  }

  /** true/false/null/None/True/False, or a wrapped number: `np.float64(0.5)`, `tensor(0.5)`. */
  private word(key: string): boolean {
    const start = this.at;
    while (this.at < this.end && (isIdentifierChar(this.text.charCodeAt(this.at)) || this.text.charCodeAt(this.at) === 46)) this.at++;
    if (this.at === start || isDigit(this.text.charCodeAt(start))) return false;
    if (this.at >= this.end || this.text.charCodeAt(this.at) !== 40 /* ( */) return true;
    this.at++;
    this.skipSpace();
    const numberStart = this.at;
    const numberEnd = scanNumber(this.text, numberStart);
    if (numberEnd === -1 || numberEnd > this.end) return false;
    this.at = numberEnd;
    if (this.peek() !== 41 /* ) */) return false;
    this.at++;
    this.out.add(key, numberAt(this.text, numberStart, numberEnd));
    return true;
  }

  /** Lists and tuples: checked for balance, their contents skipped. */
  private skipSequence(depth: number): boolean {
    if (depth > MAX_DEPTH) return false;
    const close = this.text.charCodeAt(this.at) === 91 ? 93 : 41;
    this.at++;
    while (this.peek() !== -1) {
      const code = this.text.charCodeAt(this.at);
      if (code === close) return this.consume();
      if (code === 34 || code === 39) {
        if (this.string() === undefined) return false;
      } else if (code === 91 || code === 40) {
        if (!this.skipSequence(depth + 1)) return false;
      } else if (code === 123) {
        // Objects inside lists are skipped too: their keys would need an index to stay distinct.
        const mark = this.out.count;
        if (!this.object('', depth + 1)) return false;
        this.out.count = mark;
      } else {
        this.at++;
      }
    }
    return false;
  }

  /** A quoted string with backslash escapes; its text, unescaped. */
  private string(): string | undefined {
    const quote = this.text.charCodeAt(this.at);
    const start = ++this.at;
    let escaped = false;
    while (this.at < this.end) {
      const code = this.text.charCodeAt(this.at);
      if (code === quote) {
        const raw = this.text.slice(start, this.at++);
        return escaped ? unescapeQuoted(raw) : raw;
      }
      if (code === 92 /* \ */) {
        escaped = true;
        this.at++;
      }
      this.at++;
    }
    return undefined;
  }
}

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', b: '\b', f: '\f', '0': '\0' };

function unescapeQuoted(raw: string): string {
  return raw.replace(/\\(u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|.)/gs, (_, escape: string) => {
    if (escape.length > 1) return String.fromCharCode(parseInt(escape.slice(1), 16));
    return ESCAPES[escape] ?? escape;
  });
}

function isIdentifierChar(code: number): boolean {
  return (code >= 97 && code <= 122) || (code >= 65 && code <= 90) || isDigit(code) || code === 95 || code === 36 || code > 127;
}
