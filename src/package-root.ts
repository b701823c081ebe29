// The package's root directory, from src/ (tsx) and dist/ (built) alike: both sit one level below it.
import { fileURLToPath } from 'node:url';

export const packageRoot = fileURLToPath(new URL('..', import.meta.url));

export function packagePath(...parts: string[]): string {
  return [packageRoot.replace(/\/$/, ''), ...parts].join('/');
}
