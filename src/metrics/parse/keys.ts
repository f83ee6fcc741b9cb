// Makes any text a metric key MLflow accepts, deterministically (the same text always gives the same
// key): only `[/\w.\- :]` (\w as Python's re reads it: Unicode letters, digits and `_`), at most
// 250 characters, and nothing a path normalisation would change: no leading or trailing `/`, no
// `//`, no `..`, no `.` segment, not empty.
import { MAX_ENTITY_KEY_LENGTH as MAX_KEY_LENGTH } from '../../tracking/limits.ts';

const ILLEGAL = /[^\p{L}\p{N}_/.\- :]/gu;
// A 250-character cut keeps 241 characters and adds `_` + 8 hex digits of the full key's hash,
// so two long keys that share their first 241 characters stay two keys.
const KEPT_WHEN_CUT = MAX_KEY_LENGTH - 9;

export function sanitizeKey(raw: string): string {
  let key = tidy(raw.trim().replace(ILLEGAL, '_'));
  if (key.length > MAX_KEY_LENGTH) {
    // node:crypto only for such rare keys: loading it is a cost every stage's start-up would pay.
    const hash = process.getBuiltinModule('node:crypto').createHash('sha256').update(key).digest('hex').slice(0, 8);
    let kept = key.slice(0, KEPT_WHEN_CUT);
    // Never keep half of a surrogate pair.
    const last = kept.charCodeAt(kept.length - 1);
    if (last >= 0xd800 && last <= 0xdbff) kept = kept.slice(0, -1);
    key = `${tidy(kept)}_${hash}`;
  }
  return key === '' ? '_' : key;
}

function tidy(key: string): string {
  if (!key.includes('/') && !key.includes('..')) return key === '.' ? '' : key;
  return key
    .replace(/\.{2,}/g, '.')
    .split('/')
    .filter((segment) => segment !== '' && segment !== '.')
    .join('/');
}
