// The login page of the PFCAM dashboard: signs in (POST /pfcam/login), then walks a new account through its
// setup (one-time password to replace, authenticator to enrol, recovery codes shown once) over the account API,
// and goes to `next` (a same-site path only). No inline script: the page's CSP is default-src 'self'.
'use strict';
(function () {
  var csrfToken = '';
  var signedInWith = '';

  /** The `next` parameter when it is a path on this site (`/x`, never `//host` or `/\host`), else /ui/. */
  function nextPath() {
    var next = new URLSearchParams(window.location.search).get('next') || '';
    if (!/^\/(?![/\\])[^\s]*$/.test(next)) return '/ui/';
    var url = new URL(next, window.location.origin);
    return url.origin === window.location.origin ? url.pathname + url.search + url.hash : '/ui/';
  }

  function $(id) {
    return document.getElementById(id);
  }

  function show(text) {
    $('message').textContent = text;
  }

  /** Shows one step (a form or section id) and hides the others. */
  function step(id) {
    ['login', 'change-password', 'enrol', 'recovery'].forEach(function (other) {
      $(other).hidden = other !== id;
    });
    show('');
    var first = $(id).querySelector('input, button');
    if (first) first.focus();
  }

  /** POSTs JSON; resolves with { status, body }. */
  function post(url, body) {
    var headers = { 'Content-Type': 'application/json' };
    if (csrfToken) headers['X-CSRF-Token'] = csrfToken;
    return fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: headers,
      body: JSON.stringify(body),
    }).then(function (res) {
      return res.json().then(
        function (json) {
          return { status: res.status, body: json };
        },
        function () {
          return { status: res.status, body: {} };
        },
      );
    });
  }

  function failed(r, fallback) {
    if (r.status === 429) show('Too many attempts: wait a moment and try again.');
    else show(r.body && r.body.error ? String(r.body.error) : fallback);
  }

  function busy(form, on) {
    var button = form.querySelector('button');
    if (button) button.disabled = on;
  }

  function offline() {
    show('The server could not be reached.');
  }

  /** The next setup step of the account, or the dashboard when it is ready. */
  function proceed(setup) {
    if (setup.mustChangePassword) return step('change-password');
    if (!setup.mfaEnrolled) return startEnrolment();
    window.location.assign(nextPath());
  }

  function startEnrolment() {
    post('/pfcam/api/account/totp/start', {}).then(function (r) {
      if (r.status !== 200) return failed(r, 'The authenticator set-up could not start.');
      $('qr').src = String(r.body.qrCode);
      $('secret').textContent = String(r.body.secret);
      step('enrol');
    }, offline);
  }

  document.addEventListener('DOMContentLoaded', function () {
    var login = $('login');
    login.addEventListener('submit', function (event) {
      event.preventDefault();
      show('');
      busy(login, true);
      signedInWith = login.elements.password.value;
      post('/pfcam/login', {
        username: login.elements.username.value,
        password: signedInWith,
        code: login.elements.code.value.trim(),
      }).then(
        function (r) {
          busy(login, false);
          if (r.status !== 200) return failed(r, 'Sign-in failed.');
          csrfToken = String(r.body.csrfToken || '');
          $('title').textContent = 'Welcome, ' + String(r.body.user && r.body.user.name);
          proceed({
            mustChangePassword: r.body.mustChangePassword === true,
            mfaEnrolled: r.body.mfaEnrolled !== false,
          });
        },
        function () {
          busy(login, false);
          offline();
        },
      );
    });

    var change = $('change-password');
    change.addEventListener('submit', function (event) {
      event.preventDefault();
      var next = change.elements.newPassword.value;
      if (next.length < 12) return show('The new password needs 12 characters or more.');
      if (next !== change.elements.repeatPassword.value) return show('The two passwords differ.');
      busy(change, true);
      post('/pfcam/api/account/password', { currentPassword: signedInWith, newPassword: next }).then(
        function (r) {
          busy(change, false);
          if (r.status !== 200) return failed(r, 'The password could not be changed.');
          signedInWith = next;
          return fetch('/pfcam/api/session', { credentials: 'same-origin' })
            .then(function (res) {
              return res.json();
            })
            .then(function (session) {
              proceed(session.setup || { mustChangePassword: false, mfaEnrolled: true });
            });
        },
        function () {
          busy(change, false);
          offline();
        },
      );
    });

    var enrol = $('enrol');
    enrol.addEventListener('submit', function (event) {
      event.preventDefault();
      busy(enrol, true);
      post('/pfcam/api/account/totp/confirm', { code: enrol.elements.code.value.trim() }).then(
        function (r) {
          busy(enrol, false);
          if (r.status !== 200) return failed(r, 'That code does not match: try the next one the app shows.');
          var list = $('recovery-codes');
          list.textContent = '';
          (r.body.recoveryCodes || []).forEach(function (code) {
            var item = document.createElement('li');
            item.textContent = String(code);
            list.appendChild(item);
          });
          step('recovery');
        },
        function () {
          busy(enrol, false);
          offline();
        },
      );
    });

    $('continue').addEventListener('click', function () {
      window.location.assign(nextPath());
    });
  });
})();
