// The default text pattern: numeric `name=value`, `name = value` and `name: value` pairs anywhere
// in a line, several per line (`epoch 3: loss=0.21 acc=0.93`, Keras' `loss: 0.29 - acc: 0.91`,
// `'loss': 0.5` and `"loss":0.5` inside longer lines). A hand-written scanner rather than a regex:
// it runs on every line of output, and the boundary rules below are what keeps timestamps,
// versions, addresses, URLs and progress bars out.
import type { PairList } from './pair-list.ts';
import { isDigit, numberAt, scanNumber } from './numbers.ts';

const TAB = 9;
const SPACE = 32;
const QUOTE = 34;
const APOSTROPHE = 39;
const COMMA = 44;
const DOT = 46;
const COLON = 58;
const EQUALS = 61;
const UNICODE_LETTER = /\p{L}/u;
const UNICODE_WORD = /[\p{L}\p{N}]/u;

/**
 * Finds the pairs in text[from, to). Lines come as ranges of the chunk they were read in, so the
 * scanner remembers where the next `=` and `:` of the text are: searching past the end of a line
 * (native indexOf, far faster than a character loop) is not repeated for the lines after it.
 */
export class PairScanner {
  private text = '';
  private searchedFrom = 0;
  private nextEquals = -1;
  private nextColon = -1;

  /** The cheap pre-check: does text[from, to) hold a `=` or a `:` at all? */
  mayHavePairs(text: string, from: number, to: number): boolean {
    this.seek(text, from);
    return (this.nextEquals !== -1 && this.nextEquals < to) || (this.nextColon !== -1 && this.nextColon < to);
  }

  scan(text: string, from: number, to: number, out: PairList): void {
    let cursor = from;
    for (;;) {
      this.seek(text, cursor);
      const equals = this.nextEquals;
      const colon = this.nextColon;
      const i = colon === -1 || (equals !== -1 && equals < colon) ? equals : colon;
      if (i === -1 || i >= to) return;
      cursor = i + 1;
      const sign = text.charCodeAt(i);
      let keyEnd = i;
      let valueStart = i + 1;
      const before = i > from ? text.charCodeAt(i - 1) : -1;
      const quoted = sign === COLON && (before === QUOTE || before === APOSTROPHE);
      if (sign === EQUALS) {
        while (keyEnd > from && isBlank(text.charCodeAt(keyEnd - 1))) keyEnd--;
      } else if (!quoted && !(valueStart < to && isBlank(text.charCodeAt(valueStart)))) {
        // `name: value` needs the space: without it, `12:30:01` and `localhost:8080`.
        continue;
      }
      while (valueStart < to && isBlank(text.charCodeAt(valueStart))) valueStart++;
      const valueEnd = scanNumber(text, valueStart);
      if (valueEnd === -1 || valueEnd > to || !endsValue(text, valueEnd, to)) continue;
      const keyStart = quoted ? quotedKeyStart(text, from, keyEnd - 1) : wordKeyStart(text, from, keyEnd);
      if (keyStart === -1) continue;
      out.add(text.slice(keyStart, quoted ? keyEnd - 1 : keyEnd), numberAt(text, valueStart, valueEnd));
      cursor = valueEnd;
    }
  }

  /** Moves the remembered `=` and `:` positions to the first ones at or after `from`. */
  private seek(text: string, from: number): void {
    // A string compare, but a cheap one: the same chunk is the same object, and a different one
    // differs in length or early on; only a new text (or going back) searches again.
    if (text !== this.text || from < this.searchedFrom) {
      this.text = text;
      this.nextEquals = text.indexOf('=', from);
      this.nextColon = text.indexOf(':', from);
    } else {
      if (this.nextEquals !== -1 && this.nextEquals < from) this.nextEquals = text.indexOf('=', from);
      if (this.nextColon !== -1 && this.nextColon < from) this.nextColon = text.indexOf(':', from);
    }
    this.searchedFrom = from;
  }
}

/** The start of the unquoted key ending at `end`, or -1 when there is none or it starts mid-word. */
function wordKeyStart(text: string, from: number, end: number): number {
  let start = end;
  while (start > from && isKeyChar(text.charCodeAt(start - 1), text, start - 1)) start--;
  if (start === end || !isKeyStart(text.charCodeAt(start), text, start)) return -1;
  return start === from || isKeyBoundary(text.charCodeAt(start - 1)) ? start : -1;
}

/** The start of the text of `'key'` or `"key"` whose closing quote is at `close`. */
function quotedKeyStart(text: string, from: number, close: number): number {
  const quote = text.charCodeAt(close);
  let open = close - 1;
  while (open >= from && text.charCodeAt(open) !== quote) open--;
  if (open < from || open === close - 1) return -1;
  return open === from || isKeyBoundary(text.charCodeAt(open - 1)) ? open + 1 : -1;
}

/** What may follow a value: the end, a blank, or closing punctuation; never more of a number. */
function endsValue(text: string, end: number, to: number): boolean {
  if (end >= to) return true;
  const code = text.charCodeAt(end);
  if (isBlank(code)) return true;
  switch (code) {
    case COMMA: // but not a thousands separator: `1,234,567`
      return end + 1 >= to || !isDigit(text.charCodeAt(end + 1));
    case DOT: // a full stop, not `1.2.3`
      return end + 1 >= to || isBlank(text.charCodeAt(end + 1));
    case 59: // ;
    case 124: // |
    case 41: // )
    case 93: // ]
    case 125: // }
    case QUOTE:
    case APOSTROPHE:
      return true;
    default: // `%`, `:`, `/`, `-`, letters (units, `1.2.3`, `12:30`, `1/10`, `3s`, `45%`)
      return false;
  }
}

/** What may come right before a key: a key inside a word, URL or path does not count. */
function isKeyBoundary(code: number): boolean {
  switch (code) {
    case SPACE:
    case TAB:
    case COMMA:
    case COLON: // Python logging's `INFO:root:loss=0.5`
    case 59: // ;
    case 124: // |
    case 40: // (
    case 91: // [
    case 123: // {
    case QUOTE:
    case APOSTROPHE:
      return true;
    default:
      return false;
  }
}

function isKeyStart(code: number, text: string, at: number): boolean {
  return (code >= 97 && code <= 122) || (code >= 65 && code <= 90) || code === 95 || (code > 127 && UNICODE_LETTER.test(text[at] as string));
}

function isKeyChar(code: number, text: string, at: number): boolean {
  if ((code >= 97 && code <= 122) || (code >= 65 && code <= 90) || isDigit(code)) return true;
  if (code === 95 || code === 46 || code === 45 || code === 47) return true; // _ . - /
  return code > 127 && UNICODE_WORD.test(text[at] as string);
}

function isBlank(code: number): boolean {
  return code === SPACE || code === TAB;
}
