// Passkeys on the demo page: "Add a passkey", "Sign in with a passkey" and the list. The
// WebAuthn part is the browser's own API (navigator.credentials), with the base64url
// conversions the server's JSON needs; the session stays with notbefore-client.js.
import { describeDevice } from './notbefore-client.js';
import { $, ago, describeError, exact, h, log } from './ui.js';

const CSRF_COOKIE = '__Host-nb_csrf';
/** The client's cross-tab refresh lock (createAuthClient's default channel name). */
const REFRESH_LOCK = 'notbefore:refresh';

const PASSKEY_ERRORS = {
  INVALID_CREDENTIALS: 'That passkey was not accepted. Try again, or sign in with your password.',
  NOT_FOUND: 'Passkeys are off on this server (it needs --public-url).',
  NotAllowedError: 'No passkey was used (cancelled, or none for this site).',
  InvalidStateError: 'This authenticator already holds a passkey for your account.',
};

// ---------------------------------------------------------------- WebAuthn JSON

function toBytes(base64url) {
  const base64 = base64url.replace(/-/g, '+').replace(/_/g, '/');
  const binary = atob(base64 + '='.repeat((4 - (base64.length % 4)) % 4));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

function toBase64url(buffer) {
  let binary = '';
  for (const byte of new Uint8Array(buffer)) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

const descriptors = (list) => (list ?? []).map((c) => ({ ...c, id: toBytes(c.id) }));

function creationOptions(json) {
  return {
    ...json,
    challenge: toBytes(json.challenge),
    user: { ...json.user, id: toBytes(json.user.id) },
    excludeCredentials: descriptors(json.excludeCredentials),
  };
}

function requestOptions(json) {
  return {
    ...json,
    challenge: toBytes(json.challenge),
    allowCredentials: descriptors(json.allowCredentials),
  };
}

/** PublicKeyCredential.toJSON(), written out for browsers that lack it. */
function credentialJSON(credential) {
  const r = credential.response;
  const response = { clientDataJSON: toBase64url(r.clientDataJSON) };
  if (r.attestationObject) {
    response.attestationObject = toBase64url(r.attestationObject);
    response.transports = r.getTransports?.() ?? [];
  } else {
    response.authenticatorData = toBase64url(r.authenticatorData);
    response.signature = toBase64url(r.signature);
    if (r.userHandle) response.userHandle = toBase64url(r.userHandle);
  }
  return {
    id: credential.id,
    rawId: toBase64url(credential.rawId),
    type: credential.type,
    response,
    clientExtensionResults: credential.getClientExtensionResults?.() ?? {},
    ...(credential.authenticatorAttachment
      ? { authenticatorAttachment: credential.authenticatorAttachment }
      : {}),
  };
}

/** A sentence for people: the server's code, or what the browser's WebAuthn refused. */
const explain = (error) => PASSKEY_ERRORS[error?.name] ?? describeError(error, PASSKEY_ERRORS);

// ---------------------------------------------------------------- requests

const readCookie = (name) =>
  document.cookie
    .split('; ')
    .find((c) => c.startsWith(`${name}=`))
    ?.slice(name.length + 1) ?? null;

async function answer(res) {
  const body = res.status === 204 ? null : await res.json().catch(() => null);
  if (res.ok) return body;
  const error = new Error(body?.error?.message ?? `HTTP ${res.status}`);
  Object.assign(error, body?.error ?? {}, { status: res.status });
  throw error;
}

const jsonInit = (body, method = 'POST') => ({
  method,
  credentials: 'same-origin',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

/**
 * Adding or removing a passkey ends every other session and re-issues this one's cookies.
 * The request runs holding the client's refresh lock, so that no tab refreshes with the old
 * refresh cookie meanwhile (the server's credential-change event arrives as the answer does);
 * the refresh the event asks for then runs with the new cookies. Inside the lock there is no
 * refresh-and-retry (it would wait on the lock): a 401 is cured outside it, then tried again.
 */
async function renewing(auth, url, init) {
  const request = () =>
    fetch(url, {
      ...init,
      headers: { ...init.headers, 'x-csrf-token': readCookie(CSRF_COOKIE) ?? '' },
    });
  // Without Web Locks (a few old browsers) it goes unguarded: a racing refresh may end it.
  const send = () => (navigator.locks ? navigator.locks.request(REFRESH_LOCK, request) : request());
  let res = await send();
  if (res.status === 401 && (await auth.refresh())) res = await send();
  return answer(res);
}

const proofOf = (password, otp) => ({
  ...(password === undefined ? {} : { password }),
  ...(otp === undefined ? {} : { otp }),
});

// ---------------------------------------------------------------- the page

/**
 * Draws the passkey parts of the page and wires them: a button under the sign-in form, and
 * a card of the user's passkeys on the dashboard. `withReauth(why, action)` is the page's
 * step-up prompt: it runs `action()`, and on REAUTHENTICATION_REQUIRED asks for the password
 * (and the code, with TOTP) and runs `action(password, otp)`.
 */
export function setUpPasskeys({ auth, withReauth }) {
  const supported = typeof PublicKeyCredential === 'function' && !!navigator.credentials;

  // -- sign in with a passkey
  const signInButton = h(
    'button',
    { id: 'passkey-login', class: 'btn btn-block', type: 'button', disabled: !supported },
    'Sign in with a passkey',
  );
  const signInError = h('p', {
    id: 'passkey-login-error',
    class: 'alert',
    role: 'alert',
    hidden: true,
  });
  $('auth-form').after(
    h(
      'div',
      { class: 'form passkey-signin' },
      h('p', { class: 'divider muted small' }, 'or'),
      signInButton,
      signInError,
    ),
  );
  signInButton.addEventListener('click', async () => {
    signInError.hidden = true;
    signInButton.disabled = true;
    try {
      // With an email typed in, that account's passkeys; without, any passkey of this site.
      const email = $('email').value.trim();
      const options = await answer(
        await fetch('/auth/passkeys/login/options', jsonInit(email ? { email } : {})),
      );
      const credential = await navigator.credentials.get({ publicKey: requestOptions(options) });
      await answer(
        await fetch(
          '/auth/passkeys/login',
          jsonInit({ response: credentialJSON(credential), device: describeDevice() }),
        ),
      );
      // The answer set the session's cookies: the client takes the session up from them.
      await auth.start();
      log('passkey', 'Signed in with a passkey.', 'good');
    } catch (error) {
      signInError.textContent = explain(error);
      signInError.hidden = false;
    } finally {
      signInButton.disabled = !supported;
    }
  });

  // -- the user's passkeys
  const list = h('ul', { id: 'passkeys-list', class: 'sessions', 'aria-live': 'polite' });
  const status = h('p', { id: 'passkeys-error', class: 'alert', role: 'alert', hidden: true });
  const addButton = h(
    'button',
    {
      id: 'btn-add-passkey',
      class: 'btn btn-primary btn-sm',
      type: 'button',
      disabled: !supported,
    },
    'Add a passkey',
  );
  $('sessions').after(
    h(
      'article',
      { class: 'card', id: 'passkeys' },
      h(
        'div',
        { class: 'card-head' },
        h(
          'div',
          {},
          h('h2', {}, 'Passkeys'),
          h(
            'p',
            { class: 'muted small' },
            'Sign in without a password. Adding or removing one signs out your other devices.',
          ),
        ),
        addButton,
      ),
      list,
      status,
    ),
  );

  const showStatus = (text, tone = 'error') => {
    status.textContent = text;
    status.dataset.tone = tone;
    status.hidden = !text;
  };

  function render(passkeys) {
    if (passkeys.length === 0) {
      list.replaceChildren(h('li', { class: 'empty' }, 'No passkeys yet.'));
      return;
    }
    list.replaceChildren(
      ...passkeys.map((p) =>
        h(
          'li',
          { class: 'session passkey', dataset: { id: p.id } },
          h(
            'div',
            { class: 'session-main' },
            h(
              'div',
              { class: 'session-title' },
              h('span', { class: 'session-device' }, p.name || 'Passkey'),
              p.synced && h('span', { class: 'badge' }, 'Synced'),
            ),
            h(
              'div',
              { class: 'session-meta muted small' },
              h('span', { title: exact(p.createdAt) }, `Added ${ago(p.createdAt)}`),
              h('span', { 'aria-hidden': 'true' }, ' · '),
              h('span', {}, p.lastUsedAt ? `last used ${ago(p.lastUsedAt)}` : 'never used'),
            ),
          ),
          h(
            'button',
            {
              type: 'button',
              class: 'btn btn-sm',
              'aria-label': `Remove the passkey ${p.name || ''}`.trim(),
              onclick: () => remove(p),
            },
            'Remove',
          ),
        ),
      ),
    );
  }

  async function load() {
    if (!auth.signedIn) return;
    try {
      render((await answer(await auth.fetch('/auth/passkeys'))).passkeys);
    } catch (error) {
      if (auth.signedIn) showStatus(explain(error));
    }
  }

  addButton.addEventListener('click', async () => {
    showStatus('');
    addButton.disabled = true;
    try {
      let options;
      const ok = await withReauth(
        'Adding a passkey needs your password.',
        async (password, otp) => {
          const res = await auth.fetch(
            '/auth/passkeys/register/options',
            jsonInit(proofOf(password, otp)),
          );
          options = await answer(res);
        },
      );
      if (!ok || options === undefined) return;
      const credential = await navigator.credentials.create({
        publicKey: creationOptions(options),
      });
      await renewing(
        auth,
        '/auth/passkeys/register',
        jsonInit({
          response: credentialJSON(credential),
          name: describeDevice(),
        }),
      );
      log('passkey', 'Passkey added. Every other session was ended.', 'good');
      await load();
    } catch (error) {
      showStatus(explain(error));
    } finally {
      addButton.disabled = !supported;
    }
  });

  async function remove(p) {
    showStatus('');
    const ok = await withReauth('Removing a passkey needs your password.', (password, otp) =>
      renewing(
        auth,
        `/auth/passkeys/${encodeURIComponent(p.id)}`,
        jsonInit(proofOf(password, otp), 'DELETE'),
      ),
    );
    if (ok) {
      log('passkey', 'Passkey removed. Every other session was ended.', 'good');
      await load();
    }
  }

  auth.on('signedIn', () => void load());
  auth.on('signedOut', () => list.replaceChildren());
}
