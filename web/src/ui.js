// Pieces of interface that several pages share.

import { h, icon, ICONS } from './dom.js';

export const displayName = (host) => host.name || host.hostname || host.id;

/** What a host's badge says: its liveness while active, else its status. */
export function hostState(host) {
  return host.status === 'active' ? host.liveness || 'offline' : host.status;
}

const STATE_TEXT = {
  online: 'Online',
  stale: 'Stale',
  offline: 'Offline',
  pending: 'Pending',
  revoked: 'Revoked',
  deregistered: 'Deregistered',
};

export function statusBadge(host) {
  const state = hostState(host);
  return h(
    'span',
    { class: `badge badge-${state}`, 'data-testid': 'status-badge', 'data-status': state },
    STATE_TEXT[state] ?? state,
  );
}

export function updateBadge(badge, host) {
  const state = hostState(host);
  if (badge.dataset.status === state) return;
  badge.dataset.status = state;
  badge.className = `badge badge-${state}`;
  badge.textContent = STATE_TEXT[state] ?? state;
}

export function labelChips(labels) {
  const keys = Object.keys(labels ?? {}).sort();
  if (!keys.length) return null;
  return h(
    'ul',
    { class: 'chips', 'aria-label': 'Labels' },
    keys.map((k) => h('li', { class: 'chip' }, h('span', { class: 'chip-key' }, k), `=${labels[k]}`)),
  );
}

/** An empty, error or not-found state: an icon, a title, a line of text and an optional action. */
export function stateBox({ title, text, action = null, kind = 'empty', iconPath = ICONS.server }) {
  return h(
    'div',
    { class: `state state-${kind}`, role: kind === 'error' ? 'alert' : null, 'data-testid': `state-${kind}` },
    icon(iconPath),
    h('h2', { class: 'state-title' }, title),
    text && h('p', { class: 'state-text' }, text),
    action,
  );
}

export function errorBox(err, retry) {
  return stateBox({
    kind: 'error',
    title: err.status === 0 ? 'The server cannot be reached' : 'Something went wrong',
    text: err.status === 0 ? 'Check that ward-server is running; this page retries when you ask it to.' : err.message,
    iconPath: ICONS.retry,
    action: retry && h('button', { class: 'btn', type: 'button', onclick: retry }, 'Try again'),
  });
}

export function skeletonRows(n, cls = 'skeleton-row') {
  return h(
    'div',
    { class: 'skeleton', 'aria-busy': 'true' },
    h('span', { class: 'visually-hidden' }, 'Loading…'),
    Array.from({ length: n }, () => h('div', { class: cls })),
  );
}
