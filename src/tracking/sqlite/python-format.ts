// The bits of Python string formatting MLflow's error messages are made of, so that the messages
// of this store read exactly as MLflow's own (the REST server returns the same text).

/** Python's `repr()` of a str. */
export function pyRepr(value: string): string {
  const quote = value.includes("'") && !value.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of value) {
    const code = ch.codePointAt(0)!;
    if (ch === '\\' || ch === quote) out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (code < 0x20 || code === 0x7f) out += `\\x${hex(code, 2)}`;
    else out += ch;
  }
  return out + quote;
}

/** Python's `json.dumps()` of a str (ensure_ascii: everything beyond ASCII as \uXXXX). */
export function pyJsonString(value: string): string {
  return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (ch) => `\\u${hex(ch.charCodeAt(0), 4)}`);
}

/** Python's `str()` of a list of dicts of strs, as an f-string prints it. */
export function pyReprList(items: Record<string, string>[]): string {
  const dicts = items.map((item) => `{${Object.entries(item).map(([k, v]) => `${pyRepr(k)}: ${pyRepr(v)}`).join(', ')}}`);
  return `[${dicts.join(', ')}]`;
}

/** Python's `str()` of a float: `1.0`, `nan`, `inf`, `1e-05`, `1.5e+16`. */
export function pyFloat(value: number): string {
  if (Number.isNaN(value)) return 'nan';
  if (!Number.isFinite(value)) return value > 0 ? 'inf' : '-inf';
  if (Object.is(value, -0)) return '-0.0';
  // toExponential() gives the shortest digits that round-trip, as Python's repr does.
  const [digits, exponent] = value.toExponential().split('e') as [string, string];
  const e = Number(exponent);
  if (e < -4 || e >= 16) return `${digits}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
  const fixed = String(value);
  return Number.isInteger(value) ? `${fixed}.0` : fixed;
}

/** Python's `len()`: code points, not UTF-16 units. */
export function pyLength(value: string): number {
  let length = 0;
  for (const _ of value) length++;
  return length;
}

/** Python's `value[:limit]` on code points. */
export function pySlice(value: string, limit: number): string {
  let end = 0;
  let count = 0;
  for (const ch of value) {
    if (count === limit) break;
    end += ch.length;
    count++;
  }
  return value.slice(0, end);
}

/** Python's `posixpath.normpath()`. */
export function pyNormpath(path: string): string {
  if (path === '') return '.';
  let slashes = path.startsWith('/') ? 1 : 0;
  if (path.startsWith('//') && !path.startsWith('///')) slashes = 2;
  const parts: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part !== '..' || (!slashes && parts.length === 0) || parts.at(-1) === '..') parts.push(part);
    else if (parts.length) parts.pop();
  }
  return '/'.repeat(slashes) + parts.join('/') || '.';
}

function hex(code: number, width: number): string {
  return code.toString(16).padStart(width, '0');
}
