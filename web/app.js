// The demo page: every piece of session logic lives in notbefore-client.js; this file only
// draws what the client reports. It never sees a token (they are HttpOnly cookies).
// Read first, before anything else runs: a mailed link's token leaves the address bar at once.
import { setupAccount, takeMailedLink } from './account.js';

import {
  askReauthCode,
  askSignInCode,
  prepareReauthCode,
  reauthOtp,
  setUpFactors,
  signInOtp,
} from './factors.js';
import { createAuthClient, webauthn } from './notbefore-client.js';
import { setUpPasskeys } from './passkeys.js';
import {
  $,
  ago,
  CAUSE_TEXT,
  describeError,
  deviceIcon,
  exact,
  h,
  log,
  SIGNED_OUT_TEXT,
  showAlert,
  WRONG_PASSWORD,
} from './ui.js';

const auth = createAuthClient({ webauthn });
// Handy in the console (`await auth.sessions()`), and the browser tests drive it. It holds
// no token: there is none to hold.
globalThis.auth = auth;
const account = setupAccount(auth);

// ---------------------------------------------------------------- messages

// ---------------------------------------------------------------- views

function show(view) {
  $('loading').hidden = view !== 'loading';
  $('signed-out').hidden = view !== 'out';
  $('signed-in').hidden = view !== 'in';
  const status = $('status');
  status.dataset.state = view;
  status.textContent = view === 'in' ? 'Signed in' : view === 'out' ? 'Signed out' : 'Connecting…';
}

// ---------------------------------------------------------------- sign in / sign up

let mode = 'login';

function setMode(next) {
  mode = next;
  $('tab-login').setAttribute('aria-selected', String(next === 'login'));
  $('tab-signup').setAttribute('aria-selected', String(next === 'signup'));
  $('auth-title').textContent = next === 'login' ? 'Welcome back' : 'Create your account';
  $('auth-sub').textContent =
    next === 'login'
      ? 'Sign in to see your sessions and watch revocation happen live.'
      : 'Pick an email and a password of at least 8 characters.';
  $('auth-submit').textContent = next === 'login' ? 'Sign in' : 'Create account';
  $('password').autocomplete = next === 'login' ? 'current-password' : 'new-password';
  showAlert($('auth-error'), '');
}

$('tab-login').addEventListener('click', () => setMode('login'));
$('tab-signup').addEventListener('click', () => setMode('signup'));

$('auth-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const email = $('email').value.trim();
  const password = $('password').value;
  if (!email || !password) {
    showAlert($('auth-error'), 'Enter your email and password.');
    return;
  }
  const button = $('auth-submit');
  button.disabled = true;
  button.dataset.busy = 'true';
  showAlert($('auth-error'), '');
  try {
    if (mode === 'login') await auth.login({ email, password, ...signInOtp() });
    else {
      const result = await auth.signup({ email, password });
      // With --require-verified-email nobody is signed in yet: the link is in the mail.
      if (result?.checkEmail)
        showAlert($('auth-error'), `Check ${email} for a link to finish signing up.`, 'info');
    }
    $('password').value = '';
  } catch (error) {
    showAlert($('auth-error'), describeError(error));
    // The password was right; the account has two-step sign-in: ask for the code.
    if (error?.code === 'MFA_REQUIRED') askSignInCode();
    else $('password').select();
  } finally {
    button.disabled = false;
    delete button.dataset.busy;
  }
});

// ---------------------------------------------------------------- account

function renderUser(user) {
  $('user-email').textContent = user.email;
  $('avatar').textContent = (user.email[0] ?? '?').toUpperCase();
  $('user-id').textContent = user.id;
  const roles = user.roles?.length ? user.roles : [];
  $('user-roles').replaceChildren(
    ...(roles.length
      ? roles.map((role) =>
          h('span', { class: `chip${role === 'admin' ? ' chip-accent' : ''}` }, role),
        )
      : [h('span', { class: 'chip chip-muted' }, 'no roles')]),
  );
  $('admin').hidden = !roles.includes('admin');
}

$('copy-id').addEventListener('click', async () => {
  const button = $('copy-id');
  try {
    await navigator.clipboard.writeText($('user-id').textContent);
    button.textContent = 'Copied';
  } catch {
    button.textContent = 'Select it';
  }
  setTimeout(() => {
    button.textContent = 'Copy';
  }, 1500);
});

// The access token's remaining life, from the expiresAt the server sent (nothing decoded).
let life = { from: Date.now(), to: null };

function trackLife(expiresAt) {
  life = { from: Date.now(), to: expiresAt ?? null };
}

function tick() {
  if (!auth.signedIn) return;
  const left = life.to === null ? null : life.to - Date.now();
  const label = $('token-left');
  const meter = $('token-meter');
  if (left === null) {
    label.textContent = 'unknown';
    meter.style.width = '0%';
    return;
  }
  const seconds = Math.max(0, Math.ceil(left / 1000));
  const m = Math.floor(seconds / 60);
  const s = String(seconds % 60).padStart(2, '0');
  label.textContent = `${m}:${s}`;
  const share = Math.max(0, Math.min(1, left / Math.max(1, life.to - life.from)));
  meter.style.width = `${(share * 100).toFixed(1)}%`;
  meter.dataset.low = String(share < 0.25);
  $('token-note').textContent = left > 0 ? 'left · renews on its own' : 'renewing…';
}
setInterval(tick, 250);

$('btn-logout').addEventListener('click', () => auth.logout().catch(() => {}));

$('btn-logout-all').addEventListener('click', () =>
  withReauth('Signing out every device needs your password.', (password) =>
    auth.logoutAll(password),
  ),
);

// ---------------------------------------------------------------- password dialogs

function openDialog(dialog, focus) {
  if (!dialog.open) dialog.showModal();
  focus.focus();
}

$('btn-password').addEventListener('click', () => {
  $('password-form').reset();
  showAlert($('pw-error'), '');
  openDialog($('password-dialog'), $('pw-current'));
});
$('pw-cancel').addEventListener('click', () => $('password-dialog').close());

$('password-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const current = $('pw-current').value;
  const next = $('pw-next').value;
  if (!current || !next) {
    showAlert($('pw-error'), 'Fill in both passwords.');
    return;
  }
  $('pw-submit').disabled = true;
  try {
    await auth.changePassword(current, next);
    $('password-dialog').close();
    log('password', 'Password changed. Every other session was ended.', 'good');
    loadSessions();
  } catch (error) {
    showAlert(
      $('pw-error'),
      describeError(error, { INVALID_CREDENTIALS: 'Your current password is not right.' }),
    );
  } finally {
    $('pw-submit').disabled = false;
  }
});

/**
 * Runs `action()`; when the server wants the password again (REAUTHENTICATION_REQUIRED),
 * asks for it (and for a code, on an account with two-step sign-in) and runs
 * `action(password, otp)`, keeping the dialog open on a wrong one.
 */
async function withReauth(why, action) {
  try {
    await action(undefined);
    return true;
  } catch (error) {
    if (error?.code !== 'REAUTHENTICATION_REQUIRED') {
      log('error', describeError(error), 'bad');
      return false;
    }
  }
  const dialog = $('reauth-dialog');
  $('reauth-form').reset();
  $('reauth-why').textContent = why;
  showAlert($('reauth-error'), '');
  openDialog(dialog, $('reauth-password'));
  prepareReauthCode();
  return new Promise((resolve) => {
    const done = (result) => {
      $('reauth-form').removeEventListener('submit', submit);
      $('reauth-cancel').removeEventListener('click', cancel);
      dialog.removeEventListener('close', cancel);
      if (dialog.open) dialog.close();
      resolve(result);
    };
    const cancel = () => done(false);
    const submit = async (event) => {
      event.preventDefault();
      const password = $('reauth-password').value;
      if (!password) return showAlert($('reauth-error'), 'Enter your password.');
      $('reauth-submit').disabled = true;
      try {
        await action(password, reauthOtp());
        done(true);
      } catch (error) {
        const wrong =
          reauthOtp() === undefined
            ? WRONG_PASSWORD
            : { INVALID_CREDENTIALS: 'That password or code is not right.' };
        showAlert($('reauth-error'), describeError(error, wrong));
        if (error?.code === 'MFA_REQUIRED') askReauthCode();
      } finally {
        $('reauth-submit').disabled = false;
      }
    };
    $('reauth-form').addEventListener('submit', submit);
    $('reauth-cancel').addEventListener('click', cancel);
    dialog.addEventListener('close', cancel);
  });
}

// ---------------------------------------------------------------- sessions

let sessionsLoading = false;

async function loadSessions() {
  if (!auth.signedIn || sessionsLoading) return;
  sessionsLoading = true;
  try {
    const sessions = await auth.sessions();
    showAlert($('sessions-error'), '');
    renderSessions(sessions);
  } catch (error) {
    if (auth.signedIn) showAlert($('sessions-error'), describeError(error));
  } finally {
    sessionsLoading = false;
  }
}

function renderSessions(sessions) {
  const list = $('sessions-list');
  if (sessions.length === 0) {
    list.replaceChildren(h('li', { class: 'empty' }, 'No active sessions.'));
    return;
  }
  const sorted = [...sessions].sort(
    (a, b) => Number(!!b.current) - Number(!!a.current) || b.lastSeenAt - a.lastSeenAt,
  );
  list.replaceChildren(
    ...sorted.map((s) =>
      h(
        'li',
        { class: `session${s.current ? ' is-current' : ''}`, dataset: { sid: s.sid } },
        deviceIcon(s.device),
        h(
          'div',
          { class: 'session-main' },
          h(
            'div',
            { class: 'session-title' },
            h('span', { class: 'session-device' }, s.device || 'Unknown device'),
            s.current && h('span', { class: 'badge' }, 'This device'),
          ),
          h(
            'div',
            { class: 'session-meta muted small' },
            h('span', { title: exact(s.createdAt) }, `Signed in ${ago(s.createdAt)}`),
            h('span', { 'aria-hidden': 'true' }, ' · '),
            h('span', { title: exact(s.lastSeenAt) }, `last seen ${ago(s.lastSeenAt)}`),
          ),
        ),
        h(
          'button',
          {
            type: 'button',
            class: 'btn btn-sm',
            'aria-label': s.current
              ? 'End this session'
              : `End session on ${s.device || 'unknown device'}`,
            onclick: () => endSession(s),
          },
          s.current ? 'Sign out' : 'End',
        ),
      ),
    ),
  );
}

async function endSession(s) {
  if (s.current) {
    await auth.logout().catch(() => {});
    return;
  }
  const ok = await withReauth(
    `Ending the session on ${s.device || 'another device'} needs your password.`,
    (password) => auth.endSession(s.sid, password),
  );
  if (ok) {
    log('session', `Ended the session on ${s.device || 'another device'}.`, 'good');
    loadSessions();
  }
}

$('btn-reload-sessions').addEventListener('click', loadSessions);
setInterval(() => {
  if (document.visibilityState === 'visible') loadSessions();
}, 15_000);

// ---------------------------------------------------------------- admin

$('roles-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const userId = $('roles-user').value.trim();
  const roles = $('roles-value')
    .value.split(/[\s,]+/)
    .map((r) => r.trim())
    .filter((role, i, all) => role && all.indexOf(role) === i);
  const result = $('roles-result');
  if (!userId) {
    showAlert(result, 'Enter the user ID (the user sees it on their page).');
    return;
  }
  $('roles-submit').disabled = true;
  try {
    const user = await auth.setRoles(userId, roles);
    const list = user.roles?.length ? user.roles.join(', ') : 'no roles';
    showAlert(result, `${user.email} now has: ${list}.`, 'good');
    log('admin', `Set roles of ${user.email}: ${list}.`, 'info');
  } catch (error) {
    showAlert(
      result,
      describeError(error, {
        NOT_FOUND: 'No user has that ID.',
        VALIDATION_FAILED: 'Check the user ID, and that roles use only letters, digits and - _ . :',
      }),
    );
  } finally {
    $('roles-submit').disabled = false;
  }
});

// ---------------------------------------------------------------- live log

$('btn-clear-log').addEventListener('click', () => $('log').replaceChildren());

// ---------------------------------------------------------------- client events

auth.on('signedIn', ({ user, expiresAt, fromOtherTab }) => {
  renderUser(user);
  trackLife(expiresAt);
  show('in');
  tick();
  log(
    'signed-in',
    fromOtherTab ? `Signed in as ${user.email} in another tab.` : `Signed in as ${user.email}.`,
    'good',
  );
  loadSessions();
});

auth.on('signedOut', ({ reason, detail, fromOtherTab }) => {
  let text = SIGNED_OUT_TEXT[reason] ?? 'You were signed out.';
  if (fromOtherTab && (reason === 'logout' || reason === 'logout-all')) {
    text = text.replace(/\.$/, ' in another tab.');
  }
  log('signed-out', `${text}${detail ? ` [${detail}]` : ''}`, 'bad');
  const signOutNotice = reason === 'logout' && !fromOtherTab ? '' : text;
  $('sessions-list').replaceChildren();
  show('out');
  setMode('login');
  if (signOutNotice) showAlert($('auth-error'), signOutNotice, 'info');
  for (const dialog of document.querySelectorAll('dialog[open]')) dialog.close();
});

auth.on('refreshed', ({ expiresAt, cause, fromOtherTab }) => {
  trackLife(expiresAt);
  const by = fromOtherTab ? 'Another tab refreshed the access token' : 'Access token refreshed';
  log('refreshed', `${by} ${CAUSE_TEXT[cause] ?? ''}.`.replace(' .', '.'), 'info');
  loadSessions();
});

auth.on('claimsChanged', ({ user }) => {
  renderUser(user);
  log(
    'roles',
    `Your roles changed: ${user.roles?.length ? user.roles.join(', ') : 'none'}.`,
    'warn',
  );
});

auth.on('serverEvent', ({ type, data }) => {
  const why = data && typeof data === 'object' && (data.reason ?? data.cause);
  log('server', `${type}${why ? ` (${why})` : ''}`, 'muted');
});

setUpPasskeys({ auth, withReauth });
setUpFactors({ auth, withReauth });

// ---------------------------------------------------------------- start

setMode('login');
show('loading');
auth
  .start()
  .then((user) => {
    if (!user) show('out');
  })
  .catch((error) => {
    show('out');
    showAlert($('auth-error'), describeError(error));
  })
  // A mailed link is handled once the page knows whether someone is signed in.
  .then(() => account.openLink(takeMailedLink()));
