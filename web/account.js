// The account lifecycle on the demo page: forgot and reset password, the verify-your-email
// banner, change of email, and what a mailed link opens. A link's token travels in the URL
// fragment (no server sees it in a request line, log or Referer); it is read once and removed
// from the address bar before anything else runs, then posted in a request body.
import { $, describeError, log, showAlert } from './ui.js';

const LINK = /^#(reset-password|verify-email|confirm-email|invitation)=(.*)$/;

/** Reads a mailed link from the fragment and clears it from the address bar (and history). */
function readLink() {
  const match = LINK.exec(location.hash);
  if (match === null) return null;
  history.replaceState(history.state, '', location.pathname + location.search);
  return { kind: match[1], token: match[2] };
}

// At import: app.js imports this module first, so the token is gone before any other code runs.
let pending = readLink();

/** The link the page was opened with (once), or null. */
export function takeMailedLink() {
  const link = pending;
  pending = null;
  return link;
}

/** Why a request failed, in the shape describeError reads. */
async function failure(res) {
  let code = `HTTP_${res.status}`;
  let message = res.statusText || code;
  try {
    const body = await res.json();
    if (typeof body?.error?.code === 'string') code = body.error.code;
    if (typeof body?.error?.message === 'string') message = body.error.message;
  } catch {
    // Not JSON: keep the status.
  }
  const retry = Number(res.headers.get('retry-after'));
  return { code, status: res.status, message, retryAfter: retry > 0 ? retry : undefined };
}

const NO_MAIL = { NOT_FOUND: 'This server sends no mail (it runs without a mailer).' };

/** Wires the account-lifecycle UI to `auth` (the page's client); returns `openLink`. */
export function setupAccount(auth) {
  /** POSTs JSON through the client (cookies, CSRF header, refresh on expiry). */
  async function post(path, body) {
    const res = await auth.fetch(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body ?? {}),
    });
    if (!res.ok) throw await failure(res);
    return res;
  }

  function busy(button, on) {
    button.disabled = on;
    if (on) button.dataset.busy = 'true';
    else delete button.dataset.busy;
  }

  // ------------------------------------------------------------ verify-your-email banner

  let checking = null;

  /** Shows the banner while the server's claims say the address is unverified. */
  function refreshBanner() {
    if (!auth.signedIn) {
      $('verify-banner').hidden = true;
      return Promise.resolve();
    }
    checking ??= auth
      .me()
      .then(({ user, claims }) => {
        const unverified = claims?.email_verified === false;
        $('verify-email-to').textContent = user.email;
        if ($('verify-banner').hidden === unverified) {
          $('verify-banner').hidden = !unverified;
          if (!unverified) showAlert($('verify-result'), '');
        }
      })
      .catch(() => {})
      .finally(() => {
        checking = null;
      });
    return checking;
  }

  auth.on('signedIn', refreshBanner);
  // A verification elsewhere moves the server's claims: the client refreshes, and so do we.
  auth.on('refreshed', refreshBanner);
  auth.on('signedOut', () => {
    $('verify-banner').hidden = true;
  });

  $('btn-verify-resend').addEventListener('click', async () => {
    const button = $('btn-verify-resend');
    const result = $('verify-result');
    busy(button, true);
    result.textContent = '';
    try {
      await post('/auth/email/verify/request');
      result.textContent = 'Sent. Check your inbox.';
      log('mail', 'A new verification link is on its way.', 'info');
    } catch (error) {
      result.textContent = describeError(error, NO_MAIL);
    } finally {
      busy(button, false);
    }
  });

  // ------------------------------------------------------------ forgot password

  $('btn-forgot').addEventListener('click', () => {
    $('forgot-form').reset();
    $('forgot-email').value = $('email').value.trim();
    showAlert($('forgot-result'), '');
    $('forgot-submit').hidden = false;
    $('forgot-dialog').showModal();
    $('forgot-email').focus();
  });
  $('forgot-cancel').addEventListener('click', () => $('forgot-dialog').close());

  $('forgot-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const email = $('forgot-email').value.trim();
    if (!email) return showAlert($('forgot-result'), 'Enter the email of your account.');
    busy($('forgot-submit'), true);
    try {
      await post('/auth/password/forgot', { email });
      // The same answer whether or not the address has an account: the server says no more.
      showAlert(
        $('forgot-result'),
        `If ${email} has an account, a link to choose a new password is on its way. It works once, for 30 minutes.`,
        'good',
      );
      $('forgot-submit').hidden = true;
    } catch (error) {
      showAlert($('forgot-result'), describeError(error, NO_MAIL));
    } finally {
      busy($('forgot-submit'), false);
    }
  });

  // ------------------------------------------------------------ change email

  $('btn-email').addEventListener('click', () => {
    $('email-form').reset();
    showAlert($('email-result'), '');
    $('email-submit').hidden = false;
    $('email-dialog').showModal();
    $('email-new').focus();
  });
  $('email-cancel').addEventListener('click', () => $('email-dialog').close());

  $('email-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const newEmail = $('email-new').value.trim();
    const password = $('email-password').value;
    if (!newEmail || !password) {
      return showAlert($('email-result'), 'Enter the new address and your password.');
    }
    busy($('email-submit'), true);
    try {
      await post('/auth/email', { newEmail, password });
      $('email-password').value = '';
      showAlert(
        $('email-result'),
        `We mailed a link to ${newEmail}. Nothing changes until you open it (within 24 hours).`,
        'good',
      );
      $('email-submit').hidden = true;
      log('mail', `Confirmation link mailed to ${newEmail}.`, 'info');
    } catch (error) {
      showAlert(
        $('email-result'),
        describeError(error, {
          ...NO_MAIL,
          INVALID_CREDENTIALS: 'That password is not right.',
          EMAIL_TAKEN: 'That address already has an account.',
        }),
      );
    } finally {
      busy($('email-submit'), false);
    }
  });

  // ------------------------------------------------------------ what a mailed link opens

  const dialog = $('link-dialog');
  /** What the submit button does for the link on show; null when there is nothing to submit. */
  let submitLink = null;

  function linkView({ title, text = '', password = null, submit = null, result = '', tone }) {
    $('link-title').textContent = title;
    $('link-text').textContent = text;
    $('link-password-field').hidden = password === null;
    if (password !== null) {
      $('link-password-field').querySelector('span').textContent = password;
      $('link-password').value = '';
    }
    $('link-submit').hidden = submit === null;
    if (submit !== null) $('link-submit').textContent = submit;
    showAlert($('link-result'), result, tone);
    if (!dialog.open) dialog.showModal();
    (password === null ? $('link-close') : $('link-password')).focus();
  }

  function linkFailed(title, error, context = {}) {
    submitLink = null;
    linkView({ title, result: describeError(error, context) });
  }

  $('link-close').addEventListener('click', () => dialog.close());
  $('link-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    if (submitLink === null) return dialog.close();
    const password = $('link-password').value;
    if (!password) return showAlert($('link-result'), 'Choose a password.');
    busy($('link-submit'), true);
    try {
      await submitLink(password);
    } finally {
      busy($('link-submit'), false);
    }
  });

  const open = {
    'reset-password'(token) {
      submitLink = async (newPassword) => {
        try {
          await post('/auth/password/reset', { token, newPassword });
        } catch (error) {
          if (error.code === 'WEAK_PASSWORD' || error.code === 'VALIDATION_FAILED') {
            showAlert($('link-result'), describeError(error));
            return;
          }
          return linkFailed('Password not changed', error);
        }
        submitLink = null;
        linkView({
          title: 'Password changed',
          text: 'Every device signed in to your account was signed out. Sign in with your new password.',
        });
        log('password', 'Password reset through the mailed link.', 'good');
      };
      linkView({
        title: 'Choose a new password',
        text: 'Setting it signs you out on every device.',
        password: 'New password',
        submit: 'Set password',
      });
    },

    invitation(token) {
      submitLink = async (password) => {
        try {
          await post('/auth/invitations/accept', { token, password });
        } catch (error) {
          if (error.code === 'WEAK_PASSWORD' || error.code === 'VALIDATION_FAILED') {
            showAlert($('link-result'), describeError(error));
            return;
          }
          return linkFailed('Invitation not accepted', error, {
            EMAIL_TAKEN: 'This address already has an account: sign in instead.',
          });
        }
        submitLink = null;
        dialog.close();
        // The answer set this browser's cookies: the client picks the session up.
        await auth.start();
      };
      linkView({
        title: 'Accept your invitation',
        text: 'Choose a password for your new account.',
        password: 'Password',
        submit: 'Create account',
      });
    },

    async 'verify-email'(token) {
      submitLink = null;
      linkView({ title: 'Confirming your email address…' });
      try {
        await post('/auth/email/verify', { token });
      } catch (error) {
        return linkFailed('Email address not confirmed', error);
      }
      linkView({ title: 'Email address confirmed', text: 'Thank you: the address is yours.' });
      log('email', 'Email address confirmed.', 'good');
      // New claims now, not at the next scheduled refresh.
      if (auth.signedIn && (await auth.refresh())) await refreshBanner();
    },

    async 'confirm-email'(token) {
      submitLink = null;
      linkView({ title: 'Changing your email address…' });
      let res;
      try {
        res = await post('/auth/email/confirm', { token });
      } catch (error) {
        return linkFailed('Email address not changed', error, {
          EMAIL_TAKEN: 'That address got an account meanwhile: nothing changed.',
        });
      }
      linkView({
        title: 'Email address changed',
        text:
          res.status === 200
            ? 'This device stays signed in; every other one was signed out.'
            : 'Every device was signed out. Sign in with the new address.',
      });
      log('email', 'Email address changed.', 'good');
      if (res.status === 200 && auth.signedIn) await auth.me().catch(() => {});
    },
  };

  /** Opens the view for a mailed link (`{ kind, token }`); null does nothing. */
  function openLink(link) {
    if (link === null) return;
    if (!/^[A-Za-z0-9_-]{16,200}$/.test(link.token)) {
      linkFailed('This link does not work', { code: 'LINK_INVALID' });
      return;
    }
    open[link.kind](link.token);
  }

  // A link opened while the page is already open in this tab changes only the fragment.
  window.addEventListener('hashchange', () => openLink(readLink()));

  return { openLink, refreshBanner };
}
