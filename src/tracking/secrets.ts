// Which values of a command line and its environment are secrets, so that what mlrun writes
// (tags, run names, messages, the offline record) shows `***` instead. The shell has expanded
// `--token ${HF_TOKEN}` before mlrun starts: the secret is only recognisable by the name of the
// variable that holds it, by the option that precedes it, or inside a URI.
import { REDACTED, redactSecrets, redactUris, uriSecrets } from './redact.ts';

// A word that names a credential: HF_TOKEN, client_secret, DB_PASSWORD, PGPASSWORD, --creds,
// GOOGLE_APPLICATION_CREDENTIALS. Not `tokens` (MAX_NEW_TOKENS, --tokens 512 count tokens).
const CREDENTIAL_WORD = /(?:token|secret|passw(?:or)?d|credentials?|creds)$/;

// Special tokens of a tokenizer (`--pad-token '[PAD]'`, Hugging Face's `*_token` arguments).
const TOKENIZER_TOKEN = /^(?:pad|bos|eos|unk|mask|sep|cls)token$/;

// `key` alone names a dict key, a sort key, a join key (`--key label`, `--sort-key date`): only these
// name a credential (`--api-key`, `--apikey`, `--access-key`, `--secret-key`, `--account-key`, ...).
const CREDENTIAL_KEY = /(?:api|access|secret|private|account|subscription|license|master|encryption|signing|auth)key$/;

// Option or setting names end with what their value is (`--token-file` names a file), and
// `--auth user:pass` carries one too.
const CREDENTIAL_SETTING_TAIL = /(?:token|secret|passw(?:or)?d|credentials?|creds|auth)$/;

// `--token=x`, `token=x`, Hydra's `+db.password=x`, `HF_TOKEN=x` after `env`, Java's `-Dx.password=x`.
const ASSIGNMENT = /^[-+~]*([A-Za-z_][\w.-]*)=(.+)$/s;

// `--token`, `-token`: an option whose value is the next argument.
const OPTION = /^--?([A-Za-z][\w.-]*)$/;

/** The words of a name: `MY_API_KEY`, `--api-key`, `wandb.apiKey` → my api key, api key, wandb api key. */
function wordsOf(name: string): string[] {
  return name
    .split(/[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])/)
    .filter((word) => word !== '')
    .map((word) => word.toLowerCase());
}

/**
 * An environment variable whose name says TOKEN, SECRET, PASSWORD, PASSWD, CREDENTIAL(S) or KEY in
 * any of its words (MY_API_KEY, AWS_SECRET_ACCESS_KEY, HF_TOKEN, DB_PASSWORD, KAGGLE_KEY).
 * Broader than options: only its exact value is taken out, and only when it looks like a secret.
 */
function isCredentialVariable(name: string): boolean {
  return wordsOf(name).some((word) => CREDENTIAL_WORD.test(word) || word.endsWith('key'));
}

/**
 * An option or setting whose value is a credential, judged by its last word. Single-letter options
 * are never (`-p` is a port to ssh, a password to mysql), and neither are negated flags (`--no-auth`).
 */
function isCredentialSetting(name: string): boolean {
  const words = wordsOf(name);
  const last = words.at(-1);
  if (!last || words[0] === 'no') return false;
  const tail = words.slice(-2).join('');
  if (CREDENTIAL_KEY.test(tail)) return true;
  return CREDENTIAL_SETTING_TAIL.test(last) && !TOKENIZER_TOKEN.test(tail);
}

/** The credential argv[i] holds in full or after its `=`: `--token X` → X, `--password=X` → X. */
function credentialIn(argv: readonly string[], i: number): string | undefined {
  const arg = argv[i]!;
  const option = i > 0 ? OPTION.exec(argv[i - 1]!) : null;
  if (option && isCredentialSetting(option[1]!) && !OPTION.test(arg)) return arg;
  const assignment = ASSIGNMENT.exec(arg);
  if (assignment && isCredentialSetting(assignment[1]!)) return assignment[2];
  return undefined;
}

// Values that are no secret even in a variable named like one (TOKENIZERS_PARALLELISM=false,
// MAX_TOKENS=4096, HF_HUB_DISABLE_IMPLICIT_TOKEN=1), or too short to take out of every argument
// and message without taking out other words with them.
function looksLikeSecret(value: string): boolean {
  return value.length >= 4 && !/^[-+]?\d+(?:\.\d+)?$/.test(value) && !/^(?:true|false|none|null)$/i.test(value);
}

/**
 * The secrets to take out of whatever mlrun writes: the values of credential-named variables in
 * `env`, and from `argv` the values of credential options and the credentials inside URIs.
 */
export function secretsOf(env: NodeJS.ProcessEnv, argv: readonly string[] = []): string[] {
  const secrets: string[] = [];
  for (const [name, value] of Object.entries(env)) if (value && isCredentialVariable(name)) secrets.push(value);
  argv.forEach((arg, i) => {
    const credential = credentialIn(argv, i);
    if (credential) secrets.push(credential);
    secrets.push(...uriSecrets(arg));
  });
  return [...new Set(secrets.filter(looksLikeSecret))];
}

/** `argv` as mlrun may show it: credential option values, URI credentials and `secrets` are `***`. */
export function redactArguments(argv: readonly string[], secrets: readonly string[]): string[] {
  return argv.map((arg, i) => {
    const credential = credentialIn(argv, i);
    if (credential) return `${arg.slice(0, arg.length - credential.length)}${REDACTED}`;
    return redactSecrets(redactUris(arg), secrets);
  });
}
