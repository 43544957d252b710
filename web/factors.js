// Two-step sign-in (TOTP) on the demo page: setting up an authenticator app (the otpauth URL
// as a QR code, the secret as text), the recovery codes (shown once), turning it off, and the
// code prompts at sign-in and at step-up. The session work is notbefore-client.js's.
import qrcode from './qrcode-generator.js';
import { $, describeError, h, log } from './ui.js';

const FACTOR_ERRORS = {
  INVALID_CREDENTIALS: 'That code is not right, or it was used already. Wait for the next one.',
  NOT_FOUND: 'Two-step sign-in is not set up (or was set up again elsewhere). Start over.',
  VALIDATION_FAILED: 'Enter the 6-digit code from the app.',
};

// ---------------------------------------------------------------- code fields

/** A code field, hidden until asked for: digits from an app, or a recovery code. */
function codeField(id, label) {
  const input = h('input', {
    id,
    name: 'otp',
    type: 'text',
    inputmode: 'text',
    autocomplete: 'one-time-code',
    spellcheck: 'false',
    maxlength: '64',
    placeholder: '123456 or a recovery code',
  });
  const field = h('label', { class: 'field', hidden: true }, h('span', {}, label), input);
  return { field, input };
}

const signInCode = codeField('otp', 'Code from your authenticator app');
const reauthCode = codeField('reauth-otp', 'Code from your authenticator app');

const typedCode = ({ field, input }) => {
  const value = input.value.trim();
  return field.hidden || value === '' ? undefined : value;
};
const ask = ({ field, input }) => {
  field.hidden = false;
  input.value = '';
  input.focus();
};
const reset = ({ field, input }) => {
  field.hidden = true;
  input.value = '';
};

/** `{ otp }` for `auth.login` once the server asked for a code (MFA_REQUIRED); else `{}`. */
export function signInOtp() {
  const otp = typedCode(signInCode);
  return otp === undefined ? {} : { otp };
}

/** The server answered MFA_REQUIRED: the password was right, now the code. */
export function askSignInCode() {
  ask(signInCode);
}

/** Back to email and password only (signed in, or another account). */
export function resetSignInCode() {
  reset(signInCode);
}

/** The step-up dialog's code, when it asks for one. */
export function reauthOtp() {
  return typedCode(reauthCode);
}

/** The step-up was refused for want of a code: show the field. */
export function askReauthCode() {
  ask(reauthCode);
}

let totpOn = false;

/** Before the step-up dialog opens: the code field shows when this account has TOTP on. */
export function prepareReauthCode() {
  if (totpOn) ask(reauthCode);
  else reset(reauthCode);
  $('reauth-password').focus();
}

// ---------------------------------------------------------------- the card

function groups(text, size = 4) {
  return text.match(new RegExp(`.{1,${size}}`, 'g'))?.join(' ') ?? text;
}

/** The otpauth URL as a QR code image (a data: URL: the page's CSP allows those for images). */
function qrImage(url) {
  const qr = qrcode(0, 'M');
  qr.addData(url);
  qr.make();
  return h('img', {
    id: 'totp-qr',
    class: 'qr',
    src: qr.createDataURL(4, 4),
    width: String((qr.getModuleCount() + 8) * 4),
    alt: 'QR code to scan with your authenticator app',
  });
}

/**
 * Draws the two-step sign-in card and the code fields, and wires them. `withReauth(why,
 * action)` is the page's step-up prompt: it runs `action()`, and when the server wants proof
 * runs `action(password, otp)` with what the user typed.
 */
export function setUpFactors({ auth, withReauth }) {
  $('password').closest('label').after(signInCode.field);
  $('reauth-password').closest('label').after(reauthCode.field);

  const state = h('p', { id: 'totp-status', class: 'muted small' }, '');
  const panel = h('div', { id: 'totp-panel', class: 'form' });
  const status = h('p', { id: 'totp-error', class: 'alert', role: 'alert', hidden: true });
  $('sessions').after(
    h(
      'article',
      { class: 'card', id: 'factors' },
      h(
        'div',
        { class: 'card-head' },
        h(
          'div',
          {},
          h('h2', {}, 'Two-step sign-in'),
          h(
            'p',
            { class: 'muted small' },
            'A code from an authenticator app after your password. Turning it on or off signs out your other devices.',
          ),
        ),
      ),
      state,
      panel,
      status,
    ),
  );

  const showStatus = (text, tone = 'error') => {
    status.textContent = text;
    status.dataset.tone = tone;
    status.hidden = !text;
  };
  const button = (id, text, onclick, tone = '') =>
    h('button', { id, type: 'button', class: `btn btn-sm ${tone}`.trim(), onclick }, text);

  function renderStatus(mfa) {
    totpOn = mfa.totp === 'on';
    state.textContent = totpOn
      ? `On · ${mfa.recoveryCodesLeft} recovery code${mfa.recoveryCodesLeft === 1 ? '' : 's'} left`
      : 'Off';
    state.dataset.totp = mfa.totp;
    panel.replaceChildren(
      h(
        'div',
        { class: 'actions' },
        totpOn
          ? [
              button('btn-recovery-codes', 'New recovery codes', regenerate),
              button('btn-totp-off', 'Turn off', askToTurnOff, 'btn-danger'),
            ]
          : button('btn-totp-setup', 'Set up an authenticator app', setUp, 'btn-primary'),
      ),
    );
  }

  async function load() {
    if (!auth.signedIn) return;
    try {
      renderStatus(await auth.mfa());
    } catch (error) {
      if (auth.signedIn) showStatus(describeError(error));
    }
  }

  /** The codes, once: nothing on the server can show them again. */
  function showRecoveryCodes(codes, why) {
    panel.replaceChildren(
      h('p', { class: 'small' }, why),
      h(
        'ol',
        { id: 'recovery-codes', class: 'recovery-codes mono' },
        ...codes.map((c) => h('li', {}, c)),
      ),
      h(
        'div',
        { class: 'actions' },
        button('btn-codes-saved', 'I have saved them', load, 'btn-primary'),
      ),
    );
  }

  async function setUp() {
    showStatus('');
    let enrolment;
    const ok = await withReauth(
      'Setting up two-step sign-in needs your password.',
      async (password, otp) => {
        enrolment = await auth.startTotp({ password, otp });
      },
    );
    if (!ok || enrolment === undefined) return;
    const code = h('input', {
      id: 'totp-code',
      type: 'text',
      inputmode: 'numeric',
      autocomplete: 'one-time-code',
      maxlength: '16',
      placeholder: '123456',
    });
    const form = h(
      'form',
      { id: 'totp-setup', class: 'form', novalidate: true },
      h('p', { class: 'small' }, 'Scan this with your authenticator app, or type the key in:'),
      qrImage(enrolment.otpauthUrl),
      h('p', {}, h('code', { id: 'totp-secret', class: 'mono' }, groups(enrolment.secret))),
      h('label', { class: 'field' }, h('span', {}, 'Then enter the code the app shows'), code),
      h(
        'div',
        { class: 'actions' },
        h(
          'button',
          { id: 'totp-confirm', type: 'submit', class: 'btn btn-primary btn-sm' },
          'Turn on',
        ),
        button('totp-cancel', 'Cancel', load),
      ),
    );
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      showStatus('');
      try {
        const codes = await auth.confirmTotp(code.value.replace(/\s/g, ''));
        totpOn = true;
        log('factor', 'Two-step sign-in is on. Every other session was ended.', 'good');
        showRecoveryCodes(
          codes,
          'Two-step sign-in is on. Keep these recovery codes somewhere safe: each signs in once in place of a code. They are shown only now.',
        );
      } catch (error) {
        showStatus(describeError(error, FACTOR_ERRORS));
        code.select();
      }
    });
    panel.replaceChildren(form);
    code.focus();
  }

  function askToTurnOff() {
    showStatus('');
    const code = h('input', {
      id: 'totp-off-code',
      type: 'text',
      autocomplete: 'one-time-code',
      maxlength: '64',
      placeholder: '123456 or a recovery code',
    });
    const form = h(
      'form',
      { id: 'totp-off', class: 'form', novalidate: true },
      h(
        'label',
        { class: 'field' },
        h('span', {}, 'A code from the app (or a recovery code)'),
        code,
      ),
      h(
        'div',
        { class: 'actions' },
        h(
          'button',
          { id: 'totp-off-confirm', type: 'submit', class: 'btn btn-danger btn-sm' },
          'Turn off',
        ),
        button('totp-off-cancel', 'Cancel', load),
      ),
    );
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const otp = code.value.trim();
      if (!otp) return showStatus('Enter a code.');
      showStatus('');
      // Removal always needs a code; after a recent two-step sign-in, nothing else.
      let ok = false;
      try {
        await auth.removeTotp(otp);
        ok = true;
      } catch (error) {
        if (error?.code !== 'REAUTHENTICATION_REQUIRED')
          return showStatus(describeError(error, FACTOR_ERRORS));
        // A refused step-up spent no code: the same one goes with the password.
        ok = await withReauth(
          'Turning off two-step sign-in needs your password.',
          (password, again) => auth.removeTotp(again ?? otp, password),
        );
      }
      if (ok) {
        log('factor', 'Two-step sign-in is off. Every other session was ended.', 'good');
        await load();
      }
    });
    panel.replaceChildren(form);
    code.focus();
  }

  async function regenerate() {
    showStatus('');
    let codes;
    const ok = await withReauth(
      'New recovery codes need your password and a code.',
      async (password, otp) => {
        codes = await auth.regenerateRecoveryCodes({ password, otp });
      },
    );
    if (!ok || codes === undefined) return;
    log('factor', 'New recovery codes. The old ones no longer work.', 'good');
    showRecoveryCodes(
      codes,
      'Your new recovery codes (the old ones no longer work). Shown only now.',
    );
  }

  auth.on('signedIn', () => {
    resetSignInCode();
    void load();
  });
  auth.on('signedOut', () => {
    totpOn = false;
    panel.replaceChildren();
    state.textContent = '';
  });
}
