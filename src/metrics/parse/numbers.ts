// Numbers in every spelling programs print: `3`, `-1.5e-3`, `.98`, `1.`, `1E0`, `+2`, and the
// non-finite ones as Python (`nan`, `inf`, `-inf`), JavaScript/JSON (`NaN`, `Infinity`) and C
// (`-nan`, `INF`) print them, case-insensitively. Parsed with `Number`, so exactly rounded.

const PLUS = 43;
const MINUS = 45;
const DOT = 46;

export function isDigit(code: number): boolean {
  return code >= 48 && code <= 57;
}

/**
 * The end of the number starting at `start` in `text`, or -1 when none starts there. Only the
 * number itself is checked: what may follow it is the caller's rule.
 */
export function scanNumber(text: string, start: number): number {
  const length = text.length;
  let i = start;
  let code = text.charCodeAt(i);
  if (code === PLUS || code === MINUS) code = text.charCodeAt(++i);
  const mantissa = i;
  while (isDigit(code)) code = text.charCodeAt(++i);
  const integerDigits = i - mantissa;
  if (code === DOT) {
    code = text.charCodeAt(++i);
    const fraction = i;
    while (isDigit(code)) code = text.charCodeAt(++i);
    if (integerDigits === 0 && i === fraction) return -1;
  } else if (integerDigits === 0) {
    return scanNonFinite(text, i);
  }
  if (code === 101 || code === 69) {
    // An exponent only counts when digits follow: `3e` is not a number, and then neither is `3`.
    let j = i + 1;
    let next = text.charCodeAt(j);
    if (next === PLUS || next === MINUS) next = text.charCodeAt(++j);
    if (!isDigit(next)) return -1;
    while (j < length && isDigit(text.charCodeAt(j))) j++;
    i = j;
  }
  return i;
}

function scanNonFinite(text: string, i: number): number {
  const first = text.charCodeAt(i) | 0x20;
  if (first === 110 /* n */ && matchesWord(text, i, 'nan')) return i + 3;
  if (first === 105 /* i */) {
    if (matchesWord(text, i, 'infinity')) return i + 8;
    if (matchesWord(text, i, 'inf')) return i + 3;
  }
  return -1;
}

function matchesWord(text: string, at: number, lowerWord: string): boolean {
  if (at + lowerWord.length > text.length) return false;
  for (let k = 0; k < lowerWord.length; k++) {
    if ((text.charCodeAt(at + k) | 0x20) !== lowerWord.charCodeAt(k)) return false;
  }
  return true;
}

/** The value of the number at text[start, end), a range `scanNumber` accepted. */
export function numberAt(text: string, start: number, end: number): number {
  const code = text.charCodeAt(start);
  const sign = code === MINUS ? -1 : 1;
  const body = code === PLUS || code === MINUS ? start + 1 : start;
  const first = text.charCodeAt(body) | 0x20;
  if (first === 110) return NaN;
  if (first === 105) return sign * Infinity;
  const fast = decimalFastPath(text, body, end);
  return Number.isNaN(fast) ? Number(text.slice(start, end)) : sign * fast;
}

// Exact powers of ten: every one up to 1e22 is a double without rounding.
const POWERS_OF_TEN = Array.from({ length: 23 }, (_, k) => 10 ** k);

/**
 * Most printed numbers (`0.2950`, `5e-05`, `42`) have at most 15 significant digits. Then the
 * digits form an exact integer m, and m * 10^k or m / 10^k is one correctly rounded operation:
 * the same double `Number()` gives, without slicing a string (Clinger's fast path).
 * NaN when the number is outside it.
 */
function decimalFastPath(text: string, start: number, end: number): number {
  let mantissa = 0;
  let digits = 0;
  let scale = 0;
  let i = start;
  let code = text.charCodeAt(i);
  for (; i < end && isDigit(code); code = text.charCodeAt(++i)) {
    mantissa = mantissa * 10 + (code - 48);
    if (mantissa !== 0) digits++;
  }
  if (code === DOT) {
    for (code = text.charCodeAt(++i); i < end && isDigit(code); code = text.charCodeAt(++i)) {
      mantissa = mantissa * 10 + (code - 48);
      if (mantissa !== 0) digits++;
      scale--;
    }
  }
  if (i < end) {
    // The exponent: `e`, an optional sign, digits (scanNumber checked the shape).
    code = text.charCodeAt(++i);
    const negative = code === MINUS;
    if (code === PLUS || code === MINUS) i++;
    let exponent = 0;
    for (; i < end && exponent < 1000; i++) exponent = exponent * 10 + (text.charCodeAt(i) - 48);
    scale += negative ? -exponent : exponent;
  }
  if (digits > 15) return NaN;
  if (mantissa === 0) return 0;
  if (scale >= 0) return scale <= 22 ? mantissa * (POWERS_OF_TEN[scale] as number) : NaN;
  return scale >= -22 ? mantissa / (POWERS_OF_TEN[-scale] as number) : NaN;
}

/** The whole of `text` as a number (custom-pattern groups), or undefined. */
export function parseNumber(text: string): number | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  const end = scanNumber(trimmed, 0);
  return end === trimmed.length ? numberAt(trimmed, 0, end) : undefined;
}
