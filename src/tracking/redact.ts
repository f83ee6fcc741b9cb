// Makes URIs and messages fit to print: nothing printed, logged, tagged or stored may hold a secret.

export const REDACTED = '***';

// `scheme://userinfo@`: the greedy class stops at the authority's end, so an unencoded `@` inside a
// password is still covered up to the last `@` before the host.
const USERINFO = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)@/i;

// Query parameters that carry credentials: tokens, passwords, API keys, and the signatures and
// credentials of presigned S3/GCS/Azure URLs (X-Amz-Signature, X-Goog-Credential, sig, ...).
const SECRET_PARAM = /([?&;])([^=&#;]*(?:token|password|passwd|secret|key|sig|signature|credential)[^=&#;]*)=([^&#;]*)/gi;

// A URI inside a longer text, such as a command's argument: up to whitespace or a quote.
const URI_IN_TEXT = /[a-z][a-z0-9+.-]*:\/\/[^\s'"]+/gi;

/** `uri` with its userinfo replaced by `***@` and the values of secret-looking query params by `***`. */
export function redactUri(uri: string): string {
  return uri.replace(USERINFO, `$1${REDACTED}@`).replace(SECRET_PARAM, `$1$2=${REDACTED}`);
}

/** `text` with every URI in it passed through redactUri. */
export function redactUris(text: string): string {
  return text.replace(URI_IN_TEXT, redactUri);
}

/** What redactUris takes out of `text`: the userinfo and secret query values of each URI in it. */
export function uriSecrets(text: string): string[] {
  const secrets: string[] = [];
  for (const [uri] of text.matchAll(URI_IN_TEXT)) {
    const userinfo = USERINFO.exec(uri)?.[2];
    if (userinfo) secrets.push(userinfo);
    for (const param of uri.matchAll(SECRET_PARAM)) if (param[3]) secrets.push(param[3]);
  }
  return secrets;
}

/** `text` with every occurrence of each known secret (also in its percent-encoded form) replaced. */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  const forms = new Set<string>();
  for (const secret of secrets) {
    if (!secret) continue;
    forms.add(secret);
    forms.add(encodeURIComponent(secret));
  }
  // Longest first, so `user:password` is replaced whole before `password` alone.
  let result = text;
  for (const form of [...forms].sort((a, b) => b.length - a.length)) {
    result = result.split(form).join(REDACTED);
  }
  return result;
}

/**
 * Two spellings of one server compare equal: the recorded server is already redacted (no
 * credentials), so the target is redacted too; case of scheme and host and a trailing slash do not
 * matter.
 */
export function sameServerKey(uri: string): string {
  const redacted = redactUri(uri.trim());
  try {
    const url = new URL(redacted);
    return `${url.protocol}//${url.username ? `${url.username}@` : ''}${url.host}${url.pathname.replace(/\/+$/, '')}${url.search}`;
  } catch {
    return redacted.replace(/\/+$/, '');
  }
}
