// The login view: an admin token in, a session cookie out.

import { api } from './api.js';
import { h } from './dom.js';

/**
 * Shows the login form. onDone() runs after a successful login; when the
 * server lets anyone read, a link continues without logging in.
 */
export function mountLogin(root, { session, next, onDone }) {
  const input = h('input', {
    id: 'login-token',
    name: 'token',
    type: 'password',
    class: 'input mono',
    required: true,
    autocomplete: 'current-password',
    spellcheck: 'false',
    'data-testid': 'login-token',
    'aria-describedby': 'login-help',
  });
  const error = h('p', { class: 'form-error', role: 'alert', 'data-testid': 'login-error', hidden: true });
  const submit = h(
    'button',
    { type: 'submit', class: 'btn btn-primary btn-block', 'data-testid': 'login-submit' },
    'Log in',
  );
  const form = h(
    'form',
    { class: 'login-form', method: 'post', action: '/api/v1/session', 'data-testid': 'login-form' },
    h(
      'div',
      { class: 'field' },
      h('label', { for: 'login-token' }, 'Admin token'),
      input,
      h(
        'p',
        { id: 'login-help', class: 'hint' },
        'A token from “wardctl tokens create”. It is exchanged for a session cookie and not stored by this page.',
      ),
    ),
    error,
    submit,
  );

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.hidden = true;
    submit.disabled = true;
    submit.textContent = 'Logging in…';
    try {
      await api.login(input.value.trim());
      input.value = '';
      onDone(next);
    } catch (err) {
      error.textContent =
        err.status === 401 ? 'That token is not valid. Check it and try again.' : `Could not log in: ${err.message}`;
      error.hidden = false;
      input.select();
      submit.disabled = false;
      submit.textContent = 'Log in';
    }
  });

  root.append(
    h(
      'section',
      { class: 'login panel', 'aria-labelledby': 'login-title' },
      h('h1', { id: 'login-title' }, 'Log in to ward'),
      h(
        'p',
        { class: 'muted' },
        session.public_read
          ? 'Anyone can look at this server; log in to claim agents and manage the fleet.'
          : 'This dashboard needs an admin token.',
      ),
      form,
      session.public_read &&
        h(
          'p',
          { class: 'login-alt' },
          h('a', { href: next && next !== '#/login' ? next : '#/' }, 'Continue without logging in'),
        ),
    ),
  );
  input.focus();
  return () => {};
}
