/**
 * A label for the sessions list ("Firefox on Windows"), from the user agent string. The
 * server stores what the client sends; a rough label beats a raw user agent for people.
 *
 * @param ua - A user agent; default `navigator.userAgent` ('' outside a browser).
 * @example
 * ```ts
 * import { describeDevice } from 'notbefore/client';
 *
 * describeDevice('Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0');
 * // 'Firefox on Linux'
 * ```
 */
export function describeDevice(
  ua = typeof navigator === 'undefined' ? '' : navigator.userAgent,
): string {
  const pick = (pairs: [RegExp, string][]) => pairs.find(([re]) => re.test(ua))?.[1];
  const browser = pick([
    [/Edg(e|A|iOS)?\//, 'Edge'],
    [/CriOS\//, 'Chrome'],
    [/FxiOS\//, 'Firefox'],
    [/OPR\//, 'Opera'],
    [/Firefox\//, 'Firefox'],
    [/Chrome\//, 'Chrome'],
    [/Safari\//, 'Safari'],
  ]);
  const os = pick([
    [/iPhone|iPad/, 'iOS'],
    [/Android/, 'Android'],
    [/Windows/, 'Windows'],
    [/Mac OS X/, 'macOS'],
    [/CrOS/, 'ChromeOS'],
    [/Linux/, 'Linux'],
  ]);
  if (!browser) return os ?? 'Unknown device';
  return os ? `${browser} on ${os}` : browser;
}
