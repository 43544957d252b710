// Passkeys on the demo page: "Add a passkey", "Sign in with a passkey" and the list. The
// client does the work (the WebAuthn ceremony through createAuthClient({ webauthn }), the
// session and the other tabs); this file draws it.
import { passkeysSupported } from './notbefore-client.js';
import { $, ago, describeError, exact, h, log } from './ui.js';

const PASSKEY_ERRORS = {
  INVALID_CREDENTIALS: 'That passkey was not accepted. Try again, or sign in with your password.',
  NOT_FOUND: 'Passkeys are off on this server (it needs --public-url).',
  PASSKEY_CANCELLED: 'No passkey was used (cancelled, or none for this site).',
  PASSKEY_EXISTS: 'This authenticator already holds a passkey for your account.',
  // After the prompt: the server did not take the new passkey (the password was right).
  PASSKEY_REJECTED:
    'The server did not save the new passkey (the prompt may have been open too long). Add it again.',
  PASSKEY_UNSUPPORTED: 'This browser cannot use passkeys.',
};

/** A sentence for people: the server's code, or what the browser's WebAuthn refused. */
const explain = (error) => describeError(error, PASSKEY_ERRORS);

/**
 * Refusals of the step-up itself, before the prompt: the password dialog shows them, and asks
 * again. A refusal of the new passkey after the prompt is PASSKEY_REJECTED, never one of these.
 */
const STEP_UP_REFUSALS = [
  'REAUTHENTICATION_REQUIRED',
  'MFA_REQUIRED',
  'INVALID_CREDENTIALS',
  'RATE_LIMITED',
];

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
  const supported = passkeysSupported();

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
      await auth.loginWithPasskey(email ? { email } : {});
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
      render(await auth.passkeys());
    } catch (error) {
      if (auth.signedIn) showStatus(explain(error));
    }
  }

  addButton.addEventListener('click', async () => {
    showStatus('');
    addButton.disabled = true;
    let failure;
    try {
      const ok = await withReauth(
        'Adding a passkey needs your password.',
        async (password, otp) => {
          failure = undefined;
          try {
            // Named after this browser ("Chrome on macOS"): the client's default.
            await auth.addPasskey(proofOf(password, otp));
          } catch (error) {
            // The step-up's refusals go to the password prompt; the ceremony's and the server's
            // refusal of the new passkey (PASSKEY_REJECTED) to this card.
            const code = error?.code;
            if (code === 'REAUTHENTICATION_REQUIRED') throw error;
            if (password !== undefined && STEP_UP_REFUSALS.includes(code)) throw error;
            failure = error;
          }
        },
      );
      if (failure) showStatus(explain(failure));
      else if (ok) {
        log('passkey', 'Passkey added. Every other session was ended.', 'good');
        await load();
      }
    } finally {
      addButton.disabled = !supported;
    }
  });

  async function remove(p) {
    showStatus('');
    const ok = await withReauth('Removing a passkey needs your password.', (password, otp) =>
      auth.removePasskey(p.id, proofOf(password, otp)),
    );
    if (ok) {
      log('passkey', 'Passkey removed. Every other session was ended.', 'good');
      await load();
    }
  }

  auth.on('signedIn', () => void load());
  auth.on('signedOut', () => list.replaceChildren());
}
