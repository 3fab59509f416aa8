// The live metric stream: one WebSocket per page, authenticated by the
// session cookie, reconnecting with exponential backoff.

import { qs, reportUnauthorized } from './api.js';

const MIN_DELAY = 1000;
const MAX_DELAY = 30000;
const POLICY_VIOLATION = 1008; // the server's "authentication failed or required"

/**
 * new MetricStream({ server_id, metric_type, name }, { onMetrics, onStatus })
 * onStatus receives { state: 'connecting' | 'live' | 'reconnecting' | 'closed', retryAt? }.
 */
export class MetricStream {
  #filter;
  #onMetrics;
  #onStatus;
  #socket = null;
  #timer = 0;
  #attempt = 0;
  #closed = false;

  constructor(filter, { onMetrics, onStatus = () => {} }) {
    this.#filter = filter;
    this.#onMetrics = onMetrics;
    this.#onStatus = onStatus;
    this.#connect();
  }

  close() {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#socket?.close(1000);
    this.#socket = null;
    this.#onStatus({ state: 'closed' });
  }

  #connect() {
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const query = qs(Object.fromEntries(Object.entries(this.#filter).map(([k, v]) => [k, [v].flat().join(',')])));
    const socket = new WebSocket(`${scheme}://${location.host}/api/v1/stream${query ? `?${query}` : ''}`);
    this.#socket = socket;
    this.#onStatus({ state: this.#attempt ? 'reconnecting' : 'connecting' });

    socket.addEventListener('message', (event) => {
      let msg;
      try {
        msg = JSON.parse(event.data);
      } catch {
        return;
      }
      if (msg.type === 'ready') {
        this.#attempt = 0;
        this.#onStatus({ state: 'live' });
      } else if (msg.type === 'metrics' && Array.isArray(msg.metrics)) {
        this.#onMetrics(msg.metrics);
      }
    });

    socket.addEventListener('close', (event) => {
      if (this.#closed || socket !== this.#socket) return;
      if (event.code === POLICY_VIOLATION) {
        this.#closed = true;
        this.#onStatus({ state: 'closed' });
        reportUnauthorized();
        return;
      }
      this.#scheduleReconnect();
    });
  }

  #scheduleReconnect() {
    // 1 s, 2 s, 4 s ... 30 s, with some jitter so that a restarted server
    // is not met by every dashboard in the same instant.
    const base = Math.min(MAX_DELAY, MIN_DELAY * 2 ** this.#attempt);
    const delay = Math.min(MAX_DELAY, base * (0.8 + Math.random() * 0.4));
    this.#attempt++;
    this.#onStatus({ state: 'reconnecting', retryAt: Date.now() + delay });
    this.#timer = setTimeout(() => this.#connect(), delay);
  }
}
