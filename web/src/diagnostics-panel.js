// The host page's Diagnostics panel: a form that queues one of the seven
// diagnostics for the host's agent (diagnostics.js), the command's progress
// and output, and the host's recent commands. Everything the server sends
// is set as text: the output goes into a <pre> through textContent.

import { api } from './api.js';
import { h, icon, ICONS, replace, setText } from './dom.js';
import {
  argsSummary,
  buildRequest,
  checkArgs,
  commandDuration,
  DIAGNOSTICS,
  describeState,
  diagnostic,
  formatDuration,
  isFinished,
  mergeListed,
  nextWait,
  progressSteps,
  resultFacts,
  retryDelay,
} from './diagnostics.js';
import * as fmt from './format.js';
import { errorBox, skeletonRows, stateBox } from './ui.js';

const HISTORY_LIMIT = 20;
const HISTORY_REFRESH = 30 * 1000;
const OPEN_KEY = 'ward.diagnostics.open';

function remembered() {
  try {
    return localStorage.getItem(OPEN_KEY) === '1';
  } catch {
    return false;
  }
}

function remember(open) {
  try {
    localStorage.setItem(OPEN_KEY, open ? '1' : '0');
  } catch {
    // Storage may be off; the panel just starts closed next time.
  }
}

/** Resolves after ms, or at once when signal aborts. */
function pause(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}

const stamp = (t) => {
  const ms = Date.parse(t);
  if (!Number.isFinite(ms)) return '';
  return Date.now() - ms < 20 * 3600 * 1000 ? fmt.time(ms) : fmt.dateTime(ms);
};

const stateBadge = (cmd) => {
  const s = describeState(cmd);
  return h(
    'span',
    { class: `badge badge-${s.kind}`, 'data-testid': 'diag-state', 'data-state': cmd.state, title: s.text },
    s.label,
  );
};

/** One diagnostic's argument fields, kept while another diagnostic is shown. */
function argsForm(spec) {
  const inputs = new Map();
  const hints = new Map();
  const fields = spec.args.map((a) => {
    const id = `diag-${spec.type}-${a.name}`;
    const helpId = `${id}-help`;
    const hintId = `${id}-hint`;
    const common = {
      id,
      name: a.name,
      class: `input${a.mono ? ' mono' : ''}`,
      'data-testid': `diag-arg-${spec.type}-${a.name}`,
      'aria-describedby': `${helpId} ${hintId}`,
    };
    const input =
      a.kind === 'select'
        ? h(
            'select',
            common,
            a.options.map((o) => h('option', { value: o, selected: o === a.def }, o)),
          )
        : h('input', {
            ...common,
            type: 'text',
            value: a.def,
            placeholder: a.kind === 'int' ? a.def : a.placeholder || null,
            inputmode: a.kind === 'int' ? 'numeric' : null,
            autocomplete: 'off',
            autocapitalize: 'off',
            spellcheck: 'false',
            'aria-required': a.required ? 'true' : null,
          });
    const hint = h('p', { id: hintId, class: 'field-hint', hidden: true });
    inputs.set(a.name, input);
    hints.set(a.name, hint);
    input.addEventListener('input', () => {
      hint.hidden = true;
      input.removeAttribute('aria-invalid');
    });
    return h(
      'div',
      { class: `field diag-field diag-field-${a.kind}${a.kind === 'text' ? ' diag-field-wide' : ''}` },
      h('label', { for: id }, a.label, a.required && h('span', { class: 'muted', 'aria-hidden': 'true' }, ' *')),
      input,
      h('p', { id: helpId, class: 'hint' }, a.help || (a.kind === 'select' ? `Default ${a.def}` : '')),
      hint,
    );
  });
  const el = h(
    'div',
    { class: 'diag-args', role: 'group', 'aria-label': `${spec.title} arguments`, 'data-testid': `diag-args-${spec.type}` },
    fields.length ? fields : h('p', { class: 'hint diag-noargs' }, 'No arguments.'),
  );

  return {
    el,
    values: () => Object.fromEntries([...inputs].map(([name, input]) => [name, input.value])),
    /** Shows hints by argument name; returns the first input with one. */
    showHints(found) {
      let first = null;
      for (const [name, hint] of hints) {
        const text = found[name];
        hint.hidden = !text;
        setText(hint, text ?? '');
        if (text) {
          inputs.get(name).setAttribute('aria-invalid', 'true');
          first ??= inputs.get(name);
        } else {
          inputs.get(name).removeAttribute('aria-invalid');
        }
      }
      return first;
    },
  };
}

/**
 * The panel for host (an object of GET /api/v1/hosts/{id}); ctx is the
 * app's (session, login). Returns { el, setHost(host), destroy() }.
 */
export function createDiagnostics(initialHost, ctx) {
  let host = initialHost;
  let open = remembered();
  let stopped = false;
  let started = false; // the body has been built and the history asked for
  let follow = null; // AbortController of the command being followed
  let shownId = null;
  let shown = null; // the command shown, as last fetched
  let historyCtl = null;
  let history = null; // the last list, or null before the first
  let historyTimer = 0;
  let posting = false;

  const admin = () => Boolean(ctx.session?.authenticated);

  // ---- the frame: header with its toggle, and the body ----
  const toggleText = h('span', {});
  const toggle = h(
    'button',
    {
      type: 'button',
      class: 'btn btn-small diag-toggle',
      'aria-expanded': 'false',
      'aria-controls': 'diag-body',
      'data-testid': 'diag-toggle',
    },
    icon(ICONS.chevron),
    toggleText,
  );
  const body = h('div', { id: 'diag-body', class: 'diag-body', hidden: true });
  const el = h(
    'section',
    { class: 'panel diag-panel', 'aria-labelledby': 'diag-title', 'data-testid': 'diag-panel' },
    h(
      'div',
      { class: 'panel-head panel-head-row diag-head' },
      h(
        'div',
        { class: 'diag-head-text' },
        h('h2', { id: 'diag-title' }, 'Diagnostics'),
        h('p', { class: 'muted' }, 'Ask this host’s agent to look at its logs, disks or network.'),
      ),
      toggle,
    ),
    body,
  );

  // ---- the form ----
  const forms = new Map(DIAGNOSTICS.map((d) => [d.type, argsForm(d)]));
  const typeSelect = h(
    'select',
    { id: 'diag-type', name: 'type', class: 'input', 'data-testid': 'diag-type' },
    DIAGNOSTICS.map((d) => h('option', { value: d.type }, d.title)),
  );
  const about = h('p', { class: 'hint diag-about', id: 'diag-about', 'data-testid': 'diag-about' });
  typeSelect.setAttribute('aria-describedby', 'diag-about');
  const formError = h('p', { class: 'form-error', role: 'alert', 'data-testid': 'diag-error', hidden: true });
  const inactive = h('p', { class: 'diag-inactive hint', 'data-testid': 'diag-inactive', hidden: true });
  const run = h(
    'button',
    { type: 'submit', class: 'btn btn-primary diag-run', 'data-testid': 'diag-run' },
    icon(ICONS.terminal),
    h('span', {}, 'Run'),
  );
  const form = h(
    'form',
    { class: 'diag-form', novalidate: true, 'data-testid': 'diag-form', 'aria-label': 'Run a diagnostic' },
    h(
      'div',
      { class: 'diag-fields' },
      h('div', { class: 'field diag-type-field' }, h('label', { for: 'diag-type' }, 'Diagnostic'), typeSelect),
      [...forms.values()].map((f) => f.el),
    ),
    about,
    formError,
    h('div', { class: 'diag-actions' }, run, inactive),
  );

  function showType() {
    const spec = diagnostic(typeSelect.value);
    for (const [type, f] of forms) f.el.hidden = type !== spec.type;
    setText(about, spec.text);
  }
  typeSelect.addEventListener('change', () => {
    formError.hidden = true;
    showType();
  });

  // ---- the result of the command shown ----
  const resultTitle = h('h3', { class: 'diag-result-title', 'data-testid': 'diag-result-title' });
  const resultBadge = h('span', { class: 'diag-result-badge' });
  const resultBy = h('p', { class: 'hint diag-result-by' });
  const steps = h('ol', { class: 'diag-steps', 'data-testid': 'diag-steps', 'aria-label': 'Progress' });
  const stateText = h('p', { class: 'diag-state-text', 'aria-live': 'polite', 'data-testid': 'diag-state-text' });
  const commandError = h('p', { class: 'form-error', 'data-testid': 'diag-command-error', hidden: true });
  const facts = h('dl', { class: 'diag-facts', 'data-testid': 'diag-facts' });
  const output = h('pre', {
    class: 'diag-output',
    tabindex: '0',
    'data-testid': 'diag-output',
    'aria-label': 'Output',
    hidden: true,
  });
  const outputNote = h('p', { class: 'hint diag-output-note', 'data-testid': 'diag-output-note', hidden: true });
  const wrap = h(
    'button',
    {
      type: 'button',
      class: 'btn btn-small btn-ghost diag-wrap',
      'aria-pressed': 'false',
      'data-testid': 'diag-wrap',
      hidden: true,
      onclick: () => {
        const on = wrap.getAttribute('aria-pressed') !== 'true';
        wrap.setAttribute('aria-pressed', String(on));
        output.classList.toggle('diag-output-wrap', on);
      },
    },
    'Wrap lines',
  );
  const result = h(
    'div',
    { class: 'diag-result', 'data-testid': 'diag-result', hidden: true, 'aria-busy': 'false' },
    h('div', { class: 'diag-result-head' }, resultTitle, resultBadge),
    resultBy,
    steps,
    stateText,
    commandError,
    h('div', { class: 'diag-facts-row' }, facts, wrap),
    output,
    outputNote,
  );

  function renderCommand(cmd) {
    shown = cmd;
    result.hidden = false;
    result.dataset.commandId = cmd.id;
    result.dataset.state = cmd.state;
    result.setAttribute('aria-busy', String(!isFinished(cmd)));
    const spec = diagnostic(cmd.type);
    const args = argsSummary(cmd.type, cmd.args);
    replace(resultTitle, spec?.title ?? cmd.type, args && h('code', { class: 'diag-args-text' }, args));
    replace(resultBadge, stateBadge(cmd));
    setText(
      resultBy,
      [cmd.requested_by && `Asked by ${cmd.requested_by}`, stamp(cmd.created_at)].filter(Boolean).join(' · '),
    );
    replace(
      steps,
      progressSteps(cmd).map((s) =>
        h(
          'li',
          { class: 'diag-step', 'data-status': s.status, 'data-step': s.key },
          h('span', { class: 'diag-step-dot', 'aria-hidden': 'true' }),
          h('span', { class: 'diag-step-label' }, s.label),
          s.at != null && h('span', { class: 'diag-step-time' }, fmt.time(s.at)),
          h('span', { class: 'visually-hidden' }, ` (${s.status})`),
        ),
      ),
    );
    setText(stateText, describeState(cmd).text);
    commandError.hidden = !cmd.error;
    setText(commandError, cmd.error ?? '');
    replace(
      facts,
      resultFacts(cmd).map(([k, v]) =>
        h('div', { class: `diag-fact${k === 'Truncated' ? ' diag-fact-warn' : ''}` }, h('dt', {}, k), h('dd', {}, v)),
      ),
    );
    const finished = isFinished(cmd);
    const text = typeof cmd.output === 'string' ? cmd.output : '';
    output.hidden = !finished || text === '';
    wrap.hidden = output.hidden;
    if (output.textContent !== text) output.textContent = text; // text only: never parsed as markup
    outputNote.hidden = false;
    if (!finished) setText(outputNote, 'The output shows here when the command has run.');
    else if (cmd.truncated)
      setText(outputNote, `The agent cut the output at ${fmt.bytes(cmd.output_bytes)}: what is shown is its start.`);
    else if (text === '') setText(outputNote, cmd.state === 'done' ? 'It printed nothing.' : 'No output.');
    else outputNote.hidden = true;
    markShown();
  }

  function renderResultLoading() {
    result.hidden = false;
    result.dataset.state = 'loading';
    result.setAttribute('aria-busy', 'true');
    replace(resultTitle, 'Loading command…');
    replace(resultBadge);
    setText(resultBy, '');
    replace(steps);
    setText(stateText, '');
    commandError.hidden = true;
    replace(facts);
    output.hidden = true;
    output.textContent = '';
    wrap.hidden = true;
    outputNote.hidden = true;
  }

  function renderResultError(err) {
    result.dataset.state = 'error';
    result.setAttribute('aria-busy', 'false');
    if (!shown || shown.id !== shownId) replace(resultTitle, 'This command could not be shown');
    commandError.hidden = false;
    setText(
      commandError,
      err.status === 404 ? 'The server does not keep this command any more.' : err.message || 'It could not be read.',
    );
  }

  /** Shows command id (first: what is known of it already) and follows it until it ends. */
  async function followCommand(id, first = null) {
    follow?.abort();
    const ctl = new AbortController();
    follow = ctl;
    shownId = id;
    if (first) renderCommand(first);
    else renderResultLoading();
    markShown();
    let cmd = first;
    let failures = 0;
    let queuedPolls = 0;
    while (!ctl.signal.aborted && !stopped && !isFinished(cmd)) {
      try {
        // The first look at a command not known yet is at once; then wait for its end.
        const wait = cmd ? nextWait(cmd, queuedPolls) : 0;
        if (cmd?.state === 'queued') queuedPolls++;
        const next = await api.command(id, { wait, signal: ctl.signal });
        if (ctl.signal.aborted) return;
        failures = 0;
        // A state seen change is news for the history; the first look at an old command is not.
        const changed = cmd !== null && next.state !== cmd.state;
        cmd = next;
        renderCommand(cmd);
        if (changed) refreshHistory();
      } catch (err) {
        if (err.name === 'AbortError' || ctl.signal.aborted || err.status === 401) return;
        if (err.status === 0 || err.status === 429 || err.status >= 500) {
          failures++;
          const s = Math.round(retryDelay(failures) / 1000);
          setText(stateText, `${err.status === 0 ? 'The server cannot be reached' : err.message}; asking again in ${s} s.`);
          await pause(retryDelay(failures), ctl.signal);
          continue;
        }
        renderResultError(err);
        return;
      }
    }
  }

  // ---- the form's submit ----
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (posting) return;
    const type = typeSelect.value;
    const f = forms.get(type);
    const values = f.values();
    const bad = f.showHints(checkArgs(type, values));
    if (bad) {
      formError.hidden = true;
      bad.focus();
      return;
    }
    formError.hidden = true;
    posting = true;
    run.disabled = true;
    setText(run.lastChild, 'Queuing…');
    try {
      const cmd = await api.runCommand(host.id, buildRequest(type, values));
      if (stopped) return;
      refreshHistory();
      followCommand(cmd.id, cmd);
    } catch (err) {
      if (err.status === 401 || stopped) return;
      // The server's own words: it says which argument and what it must be.
      setText(formError, err.message);
      formError.hidden = false;
    } finally {
      posting = false;
      run.disabled = !active();
      setText(run.lastChild, 'Run');
    }
  });

  // ---- recent commands ----
  const historyCount = h('span', { class: 'count', 'data-testid': 'diag-history-count' });
  const historyBody = h('div', { class: 'diag-history-body', 'data-testid': 'diag-history-body' });
  const list = h('ul', { class: 'diag-list', 'data-testid': 'diag-history' });
  const historyEl = h(
    'div',
    { class: 'diag-history' },
    h(
      'div',
      { class: 'diag-history-head' },
      h('h3', { id: 'diag-history-title' }, 'Recent commands ', historyCount),
      h(
        'button',
        {
          type: 'button',
          class: 'btn btn-small btn-ghost',
          'data-testid': 'diag-history-refresh',
          'aria-label': 'Refresh the recent commands',
          onclick: () => refreshHistory(true),
        },
        icon(ICONS.retry),
        h('span', {}, 'Refresh'),
      ),
    ),
    historyBody,
  );
  list.setAttribute('aria-labelledby', 'diag-history-title');

  function markShown() {
    for (const btn of list.querySelectorAll('.diag-item')) {
      if (btn.dataset.commandId === shownId) btn.setAttribute('aria-current', 'true');
      else btn.removeAttribute('aria-current');
    }
  }

  function historyItem(cmd) {
    const spec = diagnostic(cmd.type);
    const args = argsSummary(cmd.type, cmd.args);
    const d = commandDuration(cmd);
    const when = Date.parse(cmd.created_at);
    return h(
      'li',
      {},
      h(
        'button',
        {
          type: 'button',
          class: 'diag-item',
          'data-testid': 'diag-item',
          'data-command-id': cmd.id,
          'data-type': cmd.type,
          'data-state': cmd.state,
          onclick: () => {
            if (shownId !== cmd.id || result.dataset.state === 'error') followCommand(cmd.id);
            result.scrollIntoView({ block: 'nearest' });
          },
        },
        h(
          'span',
          { class: 'diag-item-main' },
          h('span', { class: 'diag-item-type' }, spec?.title ?? cmd.type),
          args && h('span', { class: 'diag-item-args mono' }, args),
        ),
        h(
          'span',
          { class: 'diag-item-meta' },
          stateBadge(cmd),
          h('span', { class: 'diag-item-time', title: stamp(cmd.created_at) }, fmt.ago(when)),
          d != null && h('span', { class: 'diag-item-duration' }, formatDuration(d)),
        ),
      ),
    );
  }

  function renderHistory() {
    setText(historyCount, history.length || '');
    if (!history.length) {
      replace(
        historyBody,
        stateBox({
          title: 'No commands yet',
          text: 'The diagnostics run on this host show up here, newest first.',
          iconPath: ICONS.terminal,
        }),
      );
      return;
    }
    const listed = history.find((c) => c.id === shownId);
    const merged = mergeListed(shown, listed);
    if (merged !== shown) renderCommand(merged);
    const focused = document.activeElement?.closest?.('.diag-item')?.dataset.commandId;
    replace(list, history.map(historyItem));
    if (list.parentNode !== historyBody) replace(historyBody, list);
    markShown();
    if (focused) list.querySelector(`[data-command-id="${CSS.escape(focused)}"]`)?.focus();
  }

  /** Loads the host's recent commands; keeps what is shown when a refresh fails, unless asked. */
  async function refreshHistory(loud = false) {
    if (stopped || !started) return;
    historyCtl?.abort();
    const ctl = new AbortController();
    historyCtl = ctl;
    if (history === null) replace(historyBody, skeletonRows(3, 'skeleton-row diag-skeleton'));
    historyEl.setAttribute('aria-busy', 'true');
    try {
      const got = await api.commands({ host_id: host.id, limit: HISTORY_LIMIT }, ctl.signal);
      if (ctl.signal.aborted) return;
      history = got;
      renderHistory();
    } catch (err) {
      if (err.name === 'AbortError' || ctl.signal.aborted || err.status === 401) return;
      if (history === null || loud) {
        history = null;
        setText(historyCount, '');
        replace(historyBody, errorBox(err, () => refreshHistory(true)));
      }
    } finally {
      if (historyCtl === ctl) historyEl.removeAttribute('aria-busy');
    }
  }

  // ---- state of the host and of the viewer ----
  const active = () => host.status === 'active';

  function renderAccess() {
    run.disabled = posting || !active();
    inactive.hidden = active();
    if (!active())
      setText(
        inactive,
        host.status === 'pending'
          ? 'This agent waits to be claimed: it can run diagnostics once it is.'
          : `This host is ${host.status}: its agent cannot fetch commands.`,
      );
  }

  function build() {
    started = true;
    if (!admin()) {
      replace(
        body,
        stateBox({
          title: 'Diagnostics are for admins',
          text: 'Log in with an admin token to run them and to see their results.',
          iconPath: ICONS.terminal,
          action:
            ctx.login && h('button', { class: 'btn', type: 'button', onclick: () => ctx.login() }, 'Log in'),
        }),
      );
      return;
    }
    showType();
    renderAccess();
    replace(body, h('div', { class: 'diag-main' }, form, result), historyEl);
    refreshHistory();
    historyTimer = setInterval(() => {
      if (open && document.visibilityState === 'visible') refreshHistory();
    }, HISTORY_REFRESH);
  }

  function setOpen(next, { save = true } = {}) {
    open = next;
    body.hidden = !open;
    toggle.setAttribute('aria-expanded', String(open));
    setText(toggleText, open ? 'Close' : 'Open');
    toggle.classList.toggle('diag-toggle-open', open);
    if (save) remember(open);
    if (open && !started) build();
    else if (open) refreshHistory();
  }
  toggle.addEventListener('click', () => setOpen(!open));
  setOpen(open, { save: false });

  return {
    el,
    setHost(next) {
      const was = host.status;
      host = next;
      if (started && admin() && was !== host.status) renderAccess();
    },
    destroy() {
      stopped = true;
      follow?.abort();
      historyCtl?.abort();
      clearInterval(historyTimer);
    },
  };
}
