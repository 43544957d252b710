// The demo page's drawing helpers and wording: no state, no session logic.

export const $ = (id) => document.getElementById(id);

export /** Builds an element; children are nodes or text (always text, never HTML). */
function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined && child !== false) el.append(child);
  }
  return el;
}

/** Shows `text` in an alert or note element (hidden when empty). */
export function showAlert(el, text, tone = 'error') {
  el.textContent = text;
  el.dataset.tone = tone;
  el.hidden = !text;
}

// ---------------------------------------------------------------- messages

export const MESSAGES = {
  INVALID_CREDENTIALS: 'That email and password do not match.',
  MFA_REQUIRED: 'Enter the code from your authenticator app (or a recovery code).',
  EMAIL_TAKEN: 'An account with this email already exists. Sign in instead.',
  ACCOUNT_DISABLED: 'This account is disabled. Ask an administrator.',
  FORBIDDEN: 'You need the admin role for that.',
  NOT_FOUND: 'Not found. Check the ID.',
  NETWORK_ERROR: 'Cannot reach the server. Check your connection and try again.',
  CSRF_FAILED: 'The request was refused as cross-site. Reload the page and try again.',
  REVOCATION_STATE_STALE: 'The server cannot confirm revocations right now. Try again in a moment.',
  STORE_UNAVAILABLE: 'The server cannot reach its database right now. Try again in a moment.',
  LINK_INVALID:
    'This link no longer works: it was used, it expired, or a newer one replaced it. Ask for a new one.',
  EMAIL_NOT_VERIFIED: 'Confirm your email address first: we mailed you a new link.',
};

/** A sentence for people; `context` overrides the wording where the place says more. */
export function describeError(error, context = {}) {
  if (error?.code === 'RATE_LIMITED') {
    return `Too many attempts. Try again in ${error.retryAfter ?? 60} seconds.`;
  }
  return context[error?.code] ?? MESSAGES[error?.code] ?? error?.message ?? 'Something went wrong.';
}

export const WRONG_PASSWORD = { INVALID_CREDENTIALS: 'That password is not right.' };

export const SIGNED_OUT_TEXT = {
  logout: 'You signed out.',
  'logout-all': 'You signed out on every device.',
  'session-ended': 'This session was ended.',
  'session-revoked': 'This session was ended from another device.',
  'refresh-failed': 'Your session expired. Sign in again.',
  'account-deleted': 'The account was deleted.',
};

export function ago(ms) {
  const s = Math.round((Date.now() - ms) / 1000);
  if (s < 45) return 'just now';
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return new Date(ms).toLocaleDateString(undefined, { month: 'short', day: 'numeric' });
}

export const exact = (ms) => new Date(ms).toLocaleString();

export function deviceIcon(device) {
  const phone = /iOS|Android/i.test(device ?? '');
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  const path = document.createElementNS(ns, 'path');
  path.setAttribute(
    'd',
    phone
      ? 'M8 2h8a2 2 0 0 1 2 2v16a2 2 0 0 1-2 2H8a2 2 0 0 1-2-2V4a2 2 0 0 1 2-2zm0 2v16h8V4H8zm3 13h2v2h-2z'
      : 'M4 5h16a1 1 0 0 1 1 1v10a1 1 0 0 1-1 1H4a1 1 0 0 1-1-1V6a1 1 0 0 1 1-1zm1 2v8h14V7H5zM2 19h20v2H2z',
  );
  svg.append(path);
  return h('span', { class: 'device-icon' }, svg);
}

export function log(kind, text, tone = 'info') {
  const list = $('log');
  const now = new Date();
  const time = now.toLocaleTimeString([], {
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });
  list.prepend(
    h(
      'li',
      { class: 'log-item', dataset: { tone, kind, at: String(now.getTime()) } },
      h('time', { datetime: now.toISOString() }, time),
      h('span', { class: 'log-kind' }, kind),
      h('span', { class: 'log-text' }, text),
    ),
  );
  while (list.children.length > 100) list.lastElementChild.remove();
}

export const CAUSE_TEXT = {
  scheduled: 'before it expired',
  retry: 'after the server refused the old one',
  claims: 'because your roles changed',
  credential: 'after a credential change',
  password: 'with the new password',
  factor: 'after a second factor changed',
  resume: 'on resume',
};
