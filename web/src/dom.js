// A small helper for building DOM trees without innerHTML: every text is
// inserted as text, so nothing from the server is ever parsed as markup.

/**
 * h('button', { class: 'btn', onclick: fn, 'data-testid': 'x' }, 'Label')
 * Props starting with "on" become event listeners; false/null/undefined
 * props are skipped, true sets an empty attribute. Children may be nodes,
 * strings, numbers, arrays of them, or null/false (skipped).
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(props ?? {})) {
    if (value === false || value == null) continue;
    if (name.startsWith('on') && typeof value === 'function') {
      el.addEventListener(name.slice(2), value);
    } else if (name === 'class') {
      el.className = value;
    } else {
      el.setAttribute(name, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child == null || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : String(child));
  }
}

/** Replaces all children of el. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** Sets textContent only when it changed, which keeps live updates cheap. */
export function setText(el, text) {
  const s = String(text);
  if (el.textContent !== s) el.textContent = s;
}

const SVG = 'http://www.w3.org/2000/svg';

/** A tiny inline SVG icon from path data (24x24 view box, stroked). */
export function icon(d, label) {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('class', 'icon');
  if (label) {
    svg.setAttribute('role', 'img');
    svg.setAttribute('aria-label', label);
  } else {
    svg.setAttribute('aria-hidden', 'true');
  }
  const path = document.createElementNS(SVG, 'path');
  path.setAttribute('d', d);
  svg.append(path);
  return svg;
}

export const ICONS = {
  pulse: 'M3 12h4l3-8 4 16 3-8h4',
  back: 'M15 18l-6-6 6-6',
  search: 'M11 4a7 7 0 1 0 0 14a7 7 0 1 0 0-14M20 20l-4-4',
  logout: 'M15 4h4v16h-4M10 8l-4 4 4 4M6 12h10',
  login: 'M15 4h4v16h-4M11 8l4 4-4 4M4 12h11',
  plus: 'M12 5v14M5 12h14',
  close: 'M6 6l12 12M18 6L6 18',
  retry: 'M20 11a8 8 0 1 0-2.3 5.7M20 5v6h-6',
  server: 'M4 4h16v6H4zM4 14h16v6H4zM8 7h.01M8 17h.01',
  table: 'M4 5h16v14H4zM4 10h16M10 10v9',
  terminal: 'M4 5h16v14H4zM8 10l3 2-3 2M13 15h3',
  chevron: 'M6 9l6 6 6-6',
};
