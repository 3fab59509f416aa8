// The dialog that claims a pending agent with the claim token from its log.

import { api } from './api.js';
import { h } from './dom.js';
import { displayName } from './ui.js';

/** Accepts the token alone or the whole `wardctl agents claim ID TOKEN` line from the log. */
function tokenFrom(text) {
  const line = /agents\s+claim\s+\S+\s+(\S+)/.exec(text);
  return (line ? line[1] : text).trim().replace(/^["']|["']$/g, '');
}

function claimError(err) {
  switch (err.status) {
    case 403:
      return 'That claim token is wrong. Copy it from the agent’s log, from the line “wardctl agents claim …”.';
    case 404:
      return 'The server does not know this agent (or that section) any more. Refresh the page.';
    case 409:
      return 'This agent has been claimed already.';
    case 429: {
      const minutes = Math.max(1, Math.ceil((err.retryAfter ?? 600) / 60));
      return `Too many claim attempts. Wait ${minutes} minute${minutes === 1 ? '' : 's'} and try again.`;
    }
    default:
      return err.message || 'The claim failed.';
  }
}

/**
 * Opens a modal dialog for claiming `host`.
 *   sections: [{id, name}] or null when the viewer cannot list them
 *   onClaimed(host, answer) after a successful claim
 *   onUnauthorized() when the session is gone
 */
export function openClaimDialog(host, { sections, onClaimed, onUnauthorized }) {
  const token = h('input', {
    id: 'claim-token',
    name: 'claimToken',
    required: true,
    autocomplete: 'off',
    spellcheck: 'false',
    class: 'input mono',
    'data-testid': 'claim-token',
    'aria-describedby': 'claim-token-help',
  });
  const name = h('input', {
    id: 'claim-name',
    name: 'name',
    maxlength: 128,
    class: 'input',
    placeholder: host.hostname,
    'data-testid': 'claim-name',
  });
  const section =
    sections?.length > 1
      ? h(
          'select',
          { id: 'claim-section', name: 'sectionId', class: 'input', 'data-testid': 'claim-section' },
          h('option', { value: '' }, 'Default section'),
          sections.map((s) => h('option', { value: s.id }, s.name)),
        )
      : null;
  const error = h('p', { class: 'form-error', role: 'alert', 'data-testid': 'claim-error', hidden: true });
  const submit = h('button', { class: 'btn btn-primary', type: 'submit', 'data-testid': 'claim-submit' }, 'Claim');
  const cancel = h('button', { class: 'btn', type: 'button', value: 'cancel' }, 'Cancel');

  const form = h(
    'form',
    { class: 'dialog-body', method: 'dialog', 'data-testid': 'claim-form' },
    h('h2', { id: 'claim-title' }, `Claim ${displayName(host)}`),
    h('p', { class: 'muted' }, 'Agent ', h('code', {}, host.id)),
    h(
      'div',
      { class: 'field' },
      h('label', { for: 'claim-token' }, 'Claim token'),
      token,
      h(
        'p',
        { id: 'claim-token-help', class: 'hint' },
        'The agent prints it in its log as “wardctl agents claim ID TOKEN”; paste the token or the whole line.',
      ),
    ),
    h(
      'div',
      { class: 'field' },
      h('label', { for: 'claim-name' }, 'Display name ', h('span', { class: 'muted' }, '(optional)')),
      name,
    ),
    section && h('div', { class: 'field' }, h('label', { for: 'claim-section' }, 'Section'), section),
    error,
    h('div', { class: 'dialog-actions' }, cancel, submit),
  );
  const dialog = h(
    'dialog',
    { class: 'dialog', 'aria-labelledby': 'claim-title', 'data-testid': 'claim-dialog' },
    form,
  );

  const opener = document.activeElement;
  cancel.addEventListener('click', () => dialog.close());
  dialog.addEventListener('close', () => {
    dialog.remove();
    if (opener?.isConnected) opener.focus();
  });
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.hidden = true;
    submit.disabled = true;
    submit.textContent = 'Claiming…';
    const body = { agentId: host.id, claimToken: tokenFrom(token.value) };
    if (name.value.trim()) body.name = name.value.trim();
    if (section?.value) body.sectionId = section.value;
    try {
      const answer = await api.claim(body);
      dialog.close();
      onClaimed(host, answer);
    } catch (err) {
      if (err.status === 401) {
        dialog.close();
        onUnauthorized();
        return;
      }
      error.textContent = claimError(err);
      error.hidden = false;
      (err.status === 403 ? token : submit).focus();
    } finally {
      submit.disabled = false;
      submit.textContent = 'Claim';
    }
  });

  document.body.append(dialog);
  dialog.showModal();
  token.focus();
}
