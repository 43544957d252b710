import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { BASE_HEADERS, type HttpResponse, PAGE_CSP } from './response.js';

const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  mjs: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  map: 'application/json; charset=utf-8',
  json: 'application/json; charset=utf-8',
  svg: 'image/svg+xml',
  png: 'image/png',
  ico: 'image/x-icon',
  txt: 'text/plain; charset=utf-8',
};

/** One path segment, a known extension, no dot files: nothing can climb out of the root. */
const FILE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,100}\.([a-z]{2,4})$/;

/**
 * Serves the demo page's files from one flat folder, with the strict page CSP. Null when
 * the file does not exist, so the caller answers 404.
 */
export async function staticFile(root: string, name: string): Promise<HttpResponse | null> {
  const file = name === '' ? 'index.html' : name;
  const ext = FILE.exec(file)?.[1];
  const type = ext === undefined ? undefined : TYPES[ext];
  if (type === undefined || file.includes('..')) return null;
  const base = resolve(root);
  const path = join(base, file);
  if (!path.startsWith(base)) return null;
  let content: Buffer;
  try {
    content = await readFile(path);
  } catch {
    return null;
  }
  return {
    status: 200,
    body: content,
    headers: {
      ...BASE_HEADERS,
      'content-type': type,
      'content-security-policy': PAGE_CSP,
      'cross-origin-opener-policy': 'same-origin',
      'cache-control': 'no-cache',
    },
    cookies: [],
  };
}
