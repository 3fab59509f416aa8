// ward's dashboard. The server renders golectra's tables (or a login form)
// at GET /; this module takes the page over with hash routes:
//   #/            the fleet
//   #/host/ID     one host
//   #/golectra    golectra's tables, as the server renders them
//   #/login       the login form (?next=ROUTE)

import { api, onUnauthorized } from './api.js';
import { h, icon, ICONS, replace, setText } from './dom.js';
import { mountFleet } from './fleet.js';
import { mountHost } from './host.js';
import { mountLogin } from './login.js';
import { stateBox } from './ui.js';

let golectra = document.getElementById('golectra'); // absent when the page was the login form
let session = { authenticated: false, public_read: false };
let cleanup = null;
let routeSerial = 0; // tells an asynchronous route that another one replaced it

// ---- the shell: top bar, view, toast ------------------------------------------

const navLinks = {
  fleet: h('a', { href: '#/', class: 'nav-link', 'data-testid': 'nav-fleet' }, 'Fleet'),
  golectra: h('a', { href: '#/golectra', class: 'nav-link', 'data-testid': 'nav-golectra' }, 'golectra'),
};
const nav = h('nav', { class: 'nav', 'aria-label': 'Main' }, navLinks.fleet, navLinks.golectra);
const liveText = h('span', { class: 'live-text' });
const live = h(
  'span',
  { class: 'live', 'data-testid': 'stream-status', 'data-state': 'idle', hidden: true },
  h('span', { class: 'live-dot', 'aria-hidden': 'true' }),
  liveText,
);
const sessionSlot = h('div', { class: 'session' });
const topbar = h(
  'header',
  { class: 'topbar' },
  h('a', { class: 'brand', href: '#/', 'aria-label': 'ward, the fleet' }, icon(ICONS.pulse), h('span', {}, 'ward')),
  nav,
  h('div', { class: 'topbar-end' }, live, sessionSlot),
);
const view = h('main', { id: 'app', class: 'view', tabindex: '-1' });
const toastEl = h('div', { class: 'toast', role: 'status', 'aria-live': 'polite', 'data-testid': 'toast' });

let toastTimer = 0;
function toast(message, kind = 'info') {
  clearTimeout(toastTimer);
  toastEl.dataset.kind = kind;
  setText(toastEl, message);
  toastEl.classList.add('toast-shown');
  toastTimer = setTimeout(() => toastEl.classList.remove('toast-shown'), kind === 'error' ? 10000 : 6000);
}

// ---- the live indicator -------------------------------------------------------

let liveTimer = 0;
function streamStatus({ state, retryAt }) {
  clearInterval(liveTimer);
  live.dataset.state = state;
  live.hidden = state === 'idle' || state === 'closed';
  const show = () => {
    if (state === 'live') setText(liveText, 'Live');
    else if (state === 'connecting') setText(liveText, 'Connecting…');
    else if (state === 'reconnecting') {
      const s = retryAt ? Math.ceil((retryAt - Date.now()) / 1000) : 0;
      setText(liveText, s > 0 ? `Reconnecting in ${s} s` : 'Reconnecting…');
    }
  };
  show();
  if (state === 'reconnecting') liveTimer = setInterval(show, 1000);
}

// ---- session ------------------------------------------------------------------

function renderSession() {
  if (session.authenticated) {
    replace(
      sessionSlot,
      h(
        'button',
        { type: 'button', class: 'btn btn-ghost', 'data-testid': 'logout', 'aria-label': 'Log out', onclick: logout },
        icon(ICONS.logout),
        h('span', {}, 'Log out'),
      ),
    );
  } else if (session.public_read) {
    replace(
      sessionSlot,
      h('span', { class: 'pill', title: 'This server lets anyone read; log in for admin actions' }, 'Read-only'),
      h(
        'button',
        {
          type: 'button',
          class: 'btn btn-ghost',
          'data-testid': 'login-button',
          'aria-label': 'Log in',
          onclick: login,
        },
        icon(ICONS.login),
        h('span', {}, 'Log in'),
      ),
    );
  } else {
    replace(sessionSlot);
  }
}

async function refreshSession() {
  session = await api.session().catch(() => ({ authenticated: false, public_read: false }));
  renderSession();
}

// Where to go after a login: a route of this page, never another site.
function safeNext(next) {
  return next && next.startsWith('#/') && !next.startsWith('#/login') ? next : '#/';
}

async function loggedIn(next) {
  await refreshSession();
  location.replace(next); // a hash: the router takes it from here
}

async function logout() {
  try {
    await api.logout();
  } catch {
    // The cookie may be gone already; the session tells where we stand.
  }
  golectra?.remove(); // what the session could read stays with it
  golectra = null;
  await refreshSession();
  if (session.public_read) route();
  else location.replace('#/login');
}

/** Goes to the login view, coming back to the current route afterwards. */
function login() {
  if (location.hash.startsWith('#/login')) return;
  location.hash = `#/login?next=${encodeURIComponent(location.hash || '#/')}`;
}

onUnauthorized(() => {
  session.authenticated = false;
  renderSession();
  login();
});

// ---- golectra's tables --------------------------------------------------------

/** The server's GET / page, parsed (no scripts run) for its golectra tables. */
async function fetchGolectra() {
  const res = await fetch('/', { credentials: 'same-origin', headers: { Accept: 'text/html' } });
  const doc = new DOMParser().parseFromString(await res.text(), 'text/html');
  return res.ok ? doc.getElementById('golectra') : null;
}

async function showGolectra(serial, fresh = false) {
  if (!golectra || fresh) {
    if (!golectra) replace(view, h('p', { class: 'muted pad', 'aria-busy': 'true' }, 'Loading golectra’s tables…'));
    const tables = await fetchGolectra().catch(() => null);
    if (serial !== routeSerial) return;
    if (tables) {
      golectra?.remove();
      golectra = document.adoptNode(tables);
      view.after(golectra);
    } else if (golectra) {
      toast('golectra’s tables could not be refreshed.', 'error');
    } else {
      replace(
        view,
        stateBox({
          kind: 'error',
          title: 'golectra’s tables could not be loaded',
          text: 'The server did not answer with them.',
          action: h('button', { class: 'btn', type: 'button', onclick: () => showGolectra(serial, true) }, 'Try again'),
        }),
      );
      return;
    }
  }
  if (!golectra.querySelector('.golectra-note')) {
    const note = h(
      'p',
      { class: 'golectra-note muted' },
      'golectra’s gauges and counters as the server renders them. ',
      h(
        'button',
        {
          type: 'button',
          class: 'btn btn-small',
          'data-testid': 'golectra-refresh',
          onclick: () => showGolectra(routeSerial, true),
        },
        'Refresh',
      ),
    );
    const title = golectra.querySelector('h1');
    if (title) title.after(note);
    else golectra.prepend(note);
  }
  view.hidden = true;
  golectra.hidden = false;
}

// ---- routes -------------------------------------------------------------------

const ctx = {
  get session() {
    return session;
  },
  toast,
  streamStatus,
  login,
};

const markCurrent = (link, on) =>
  on ? link.setAttribute('aria-current', 'page') : link.removeAttribute('aria-current');

function route() {
  const serial = ++routeSerial;
  cleanup?.();
  cleanup = null;
  streamStatus({ state: 'idle' });
  view.replaceChildren();
  view.hidden = false;
  if (golectra) golectra.hidden = true;

  const [path, query = ''] = (location.hash || '#/').split('?');
  const mayRead = session.authenticated || session.public_read;
  if (!mayRead && path !== '#/login') {
    location.replace(`#/login?next=${encodeURIComponent(location.hash || '#/')}`);
    return;
  }
  const host = /^#\/host\/([^/]+)$/.exec(path);
  if (path === '#/login') {
    cleanup = mountLogin(view, { session, next: safeNext(new URLSearchParams(query).get('next')), onDone: loggedIn });
  } else if (path === '#/golectra') {
    showGolectra(serial);
  } else if (host) {
    cleanup = mountHost(view, ctx, decodeURIComponent(host[1]));
  } else {
    cleanup = mountFleet(view, ctx);
  }
  const bare = path === '#/login';
  sessionSlot.hidden = bare;
  nav.hidden = bare && !mayRead;
  markCurrent(navLinks.fleet, path !== '#/golectra' && path !== '#/login');
  markCurrent(navLinks.golectra, path === '#/golectra');
  if (path !== '#/login') document.title = 'ward';
}

async function boot() {
  document.getElementById('login')?.remove(); // the dashboard brings its own login view
  if (golectra) golectra.hidden = true;
  document.body.prepend(topbar);
  topbar.after(view);
  document.body.append(toastEl);
  try {
    session = await api.session();
  } catch (err) {
    replace(
      view,
      stateBox({
        kind: 'error',
        title: 'ward cannot be reached',
        text: err.message,
        action: h('button', { class: 'btn', type: 'button', onclick: () => location.reload() }, 'Try again'),
      }),
    );
    if (golectra) golectra.hidden = false;
    return;
  }
  renderSession();
  addEventListener('hashchange', () => {
    route();
    view.focus({ preventScroll: true });
    scrollTo(0, 0);
  });
  route();
}

boot();
