// No pino here: `users invite` redacts URLs without loading the logger.

/** A URL with any user:password part removed, fit for logs and error lines. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    return parsed.toString();
  } catch {
    return '(unparseable URL)';
  }
}
