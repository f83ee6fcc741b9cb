import assert from 'node:assert/strict';
import { test } from 'node:test';
import { redactArguments, secretsOf } from '../../src/tracking/secrets.ts';

/** Each argument after `./train` paired with how mlrun shows it, with no secrets from the environment. */
function assertShown(pairs: [arg: string, shown: string][]): void {
  const argv = ['./train', ...pairs.map(([arg]) => arg)];
  assert.deepEqual(redactArguments(argv, secretsOf({}, argv)), ['./train', ...pairs.map(([, shown]) => shown)]);
}

test('the value of a credential option is *** as a separate argument and after =', () => {
  assertShown([
    ['--token', '--token'],
    ['hf_AbCdEf123', '***'],
    ['--password=hunter22', '--password=***'],
    ['--api-key', '--api-key'],
    ['k1', '***'],
    ['--api_key=k2', '--api_key=***'],
    ['--apiKey', '--apiKey'],
    ['k3', '***'],
    ['--secret', '--secret'],
    ['s', '***'],
    ['--client-secret=cs', '--client-secret=***'],
    ['--passwd', '--passwd'],
    ['pw', '***'],
    ['--credentials', '--credentials'],
    ['creds.json', '***'],
    ['--access-key', '--access-key'],
    ['AKIA1', '***'],
    ['--secret-key=sk', '--secret-key=***'],
    ['--auth', '--auth'],
    ['bob:pw', '***'],
    ['--hf-token', '--hf-token'],
    ['t', '***'],
  ]);
});

test('settings and variable assignments with credential names are *** too (Hydra, env, Java properties)', () => {
  assertShown([
    ['wandb.api_key=abcd', 'wandb.api_key=***'],
    ['+db.password=pw', '+db.password=***'],
    ['HF_TOKEN=hf_x', 'HF_TOKEN=***'],
    ['AWS_SECRET_ACCESS_KEY=wJal', 'AWS_SECRET_ACCESS_KEY=***'],
    ['-Djavax.net.ssl.keyStorePassword=changeit', '-Djavax.net.ssl.keyStorePassword=***'],
  ]);
});

test('ordinary options keep their values, key and token among them', () => {
  assertShown([
    ['--key', '--key'],
    ['label', 'label'],
    ['--sort-key=date', '--sort-key=date'],
    ['--key-column', '--key-column'],
    ['id', 'id'],
    ['--keys', '--keys'],
    ['a,b', 'a,b'],
    ['--max-new-tokens', '--max-new-tokens'],
    ['512', '512'],
    ['--token-file', '--token-file'],
    ['tok.txt', 'tok.txt'],
    ['--pad-token', '--pad-token'],
    ['[PAD]', '[PAD]'],
    ['--no-auth', '--no-auth'],
    ['data.csv', 'data.csv'],
    ['-p', '-p'],
    ['8080', '8080'],
    ['--author=ann', '--author=ann'],
    ['trainer.max_tokens=5', 'trainer.max_tokens=5'],
    ['--password', '--password'],
    ['--verbose', '--verbose'],
  ]);
});

test('credentials inside URIs are *** wherever the URI is in an argument', () => {
  assertShown([
    ['https://u:pw@h/x?token=t&b=1', 'https://***@h/x?token=***&b=1'],
    ['--remote=s3://bucket/k?X-Amz-Signature=abc', '--remote=s3://bucket/k?X-Amz-Signature=***'],
    ['--db-url', '--db-url'],
    ['postgresql://bob:secret@db/mlflow', 'postgresql://***@db/mlflow'],
  ]);
});

test('a credential-named variable is a secret wherever its value is in an argument, unless it is no secret', () => {
  const env = {
    MY_API_KEY: 'sk-live-123456',
    HF_TOKEN: 'hf_abcdef',
    DB_PASSWORD: 'p@ss/word',
    KAGGLE_KEY: 'kag123',
    GOOGLE_APPLICATION_CREDENTIALS: '/home/ann/gcp.json',
    PGPASSWORD: 'pgpw1',
    // Not secrets: the name says no credential, the value is a boolean or a number, or too short.
    TOKENIZERS_PARALLELISM: 'false',
    TOKENIZER_NAME: 'bert-base-uncased',
    MAX_NEW_TOKENS: '4096',
    HF_HUB_DISABLE_IMPLICIT_TOKEN: '1',
    SHORT_TOKEN: 'abc',
    PWD: '/home/ann/project',
    PATH: '/usr/bin',
  };
  assert.deepEqual(secretsOf(env).sort(), ['/home/ann/gcp.json', 'hf_abcdef', 'kag123', 'p@ss/word', 'pgpw1', 'sk-live-123456']);
  const argv = ['./train', '--header', 'X-Key: sk-live-123456', 'https://h/p?k=p%40ss%2Fword', '--tokenizer', 'bert-base-uncased', '--batch', '4096', '--workers=abc'];
  assert.deepEqual(redactArguments(argv, secretsOf(env, argv)), ['./train', '--header', 'X-Key: ***', 'https://h/p?k=***', '--tokenizer', 'bert-base-uncased', '--batch', '4096', '--workers=abc']);
});

test('secretsOf also names what the command line holds, for the messages that quote it', () => {
  const argv = ['./train', '--token', 'T0KEN-abc', '--password=hunter22', '--api-key', 'k1', 'https://bob:pw12@h/x?sig=ZZZZ', '--use_auth_token', 'True'];
  assert.deepEqual(secretsOf({}, argv).sort(), ['T0KEN-abc', 'ZZZZ', 'bob:pw12', 'hunter22']);
});
