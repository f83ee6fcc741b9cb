import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const venvBin = path.join(repoRoot, '.venv', 'bin');
export const mlrunBinary = path.join(repoRoot, 'build', 'mlrun');
