/**
 * Parsed YAML/JSON/TOML values with Python's int/float distinction kept: integers are `bigint`,
 * floats are `number`. DVC prints `1.0` and `1` differently (in `cmd`, stage names and dvc.lock),
 * so collapsing them into one JS number would change resolved commands.
 */
export type Data = null | boolean | bigint | number | string | Data[] | DataMap;
export interface DataMap {
  [key: string]: Data;
}

export function isMap(value: Data | undefined): value is DataMap {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function isMapOrList(value: Data | undefined): value is DataMap | Data[] {
  return typeof value === 'object' && value !== null;
}

/** Python's `repr(float)`: shortest round-trip digits, exponent outside 1e-4 ≤ |x| < 1e16. */
export function pyFloat(n: number): string {
  if (Number.isNaN(n)) return 'nan';
  if (!Number.isFinite(n)) return n > 0 ? 'inf' : '-inf';
  if (n === 0) return Object.is(n, -0) ? '-0.0' : '0.0';
  const sign = n < 0 ? '-' : '';
  const [mantissa = '', expText = '0'] = Math.abs(n).toExponential().split('e');
  const digits = mantissa.replace('.', '');
  const exp = Number(expText);
  if (exp >= 16 || exp < -4) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    return `${sign}${m}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  if (exp < 0) return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`;
  const whole = digits.slice(0, exp + 1).padEnd(exp + 1, '0');
  return `${sign}${whole}.${digits.slice(exp + 1) || '0'}`;
}

/** DVC's `to_str` for scalars (`dvc/parsing/interpolate.py`): bools lower-case, None as Python prints it. */
export function scalarToStr(value: Data): string {
  if (value === null) return 'None';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') return pyFloat(value);
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'string') return value;
  return pyRepr(value);
}

/** Python's `str()` of a value, used where DVC formats with an f-string (list items in `cmd`). */
export function pyStr(value: Data): string {
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  return scalarToStr(value);
}

function pyRepr(value: Data): string {
  if (typeof value === 'string') return `'${value.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
  if (Array.isArray(value)) return `[${value.map(pyRepr).join(', ')}]`;
  if (isMap(value)) return `{${Object.entries(value).map(([k, v]) => `${pyRepr(k)}: ${pyRepr(v)}`).join(', ')}}`;
  return pyStr(value);
}

/** JSON text for a value, numbers as Python's `json.dumps` writes them. */
export function toJson(value: Data): string {
  if (value === null) return 'null';
  if (typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return 'NaN';
    if (!Number.isFinite(value)) return value > 0 ? 'Infinity' : '-Infinity';
    return pyFloat(value);
  }
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(toJson).join(', ')}]`;
  return `{${Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}: ${toJson(v)}`).join(', ')}}`;
}

/** Plain JS for consumers outside `dvc/` (e.g. `meta:`): integers become numbers. */
export function toPlain(value: Data): unknown {
  if (typeof value === 'bigint') return Number(value);
  if (Array.isArray(value)) return value.map(toPlain);
  if (isMap(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toPlain(v)]));
  return value;
}
