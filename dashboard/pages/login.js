// The login page of the PFCAM dashboard: posts the user name, password and code to POST /pfcam/login and goes
// to `next` (a same-site path only) on success. No inline script: the page's CSP is default-src 'self'.
'use strict';
(function () {
  /** The `next` parameter when it is a path on this site (`/x`, never `//host` or `/\host`), else /ui/. */
  function nextPath() {
    var next = new URLSearchParams(window.location.search).get('next') || '';
    if (!/^\/(?![/\\])[^\s]*$/.test(next)) return '/ui/';
    var url = new URL(next, window.location.origin);
    return url.origin === window.location.origin ? url.pathname + url.search + url.hash : '/ui/';
  }

  function show(text) {
    document.getElementById('message').textContent = text;
  }

  /** Whether the account API (password change, authenticator enrolment) is served. */
  function accountApi() {
    return fetch('/pfcam/api/account', { credentials: 'same-origin' }).then(
      function (res) {
        return res.status !== 404;
      },
      function () {
        return false;
      },
    );
  }

  function nextSteps(text) {
    document.getElementById('login').hidden = true;
    document.getElementById('next-steps').hidden = false;
    document.getElementById('next-steps-text').textContent = text;
  }

  document.addEventListener('DOMContentLoaded', function () {
    var form = document.getElementById('login');
    var button = document.getElementById('submit');
    form.addEventListener('submit', function (event) {
      event.preventDefault();
      show('');
      button.disabled = true;
      fetch('/pfcam/login', {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({
          username: form.elements.username.value,
          password: form.elements.password.value,
          code: form.elements.code.value.trim(),
        }),
      })
        .then(function (res) {
          return res.json().then(function (body) {
            return { status: res.status, body: body };
          });
        })
        .then(function (r) {
          button.disabled = false;
          if (r.status === 200) {
            if (r.body.mustChangePassword) {
              return accountApi().then(function (served) {
                nextSteps(
                  served
                    ? 'You must change your password before using the dashboard.'
                    : 'You must change your password, but this server does not offer the account page yet: ask an administrator to set a new password for you.',
                );
                if (!served) document.getElementById('account-link').hidden = true;
              });
            }
            window.location.assign(nextPath());
          } else if (r.status === 429) show('Too many attempts: wait a moment and try again.');
          else show(r.body && r.body.error ? String(r.body.error) : 'Sign-in failed.');
        })
        .catch(function () {
          button.disabled = false;
          show('The server could not be reached.');
        });
    });
  });
})();
