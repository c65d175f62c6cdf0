// The sequence diagram of a conversation with the broker, as SVG markup:
// connections as lanes, the broker's lane in the middle, one arrow per frame
// in time order; a MESSAGE is linked to the SEND it came from and to the ACK
// or NACK that settled it. Used by the live web view (src/cli/web) and by the
// HTML failure reports the library writes (src/state/html_report.rs), so
// both draw the same picture. No dependencies; runs in any browser, also
// from a file opened from disk.
//
// data = {
//   connections: [{id, label}],                      the lanes, in order
//   entries: [{connection, at_ms, direction: "in"|"out",
//              command, headers: [[name, value]], body}],  in time order
//   messages: [{message_id, connection, destination, body}]  what was
//              published (connection: who sent it), to link MESSAGE to SEND
// }
(function (root) {
  'use strict';

  const ROW = 24;
  const TOP = 56;
  const LANE = 190;
  const BROKER_LANE = 150;

  const esc = (text) =>
    String(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);

  const header = (entry, name) => {
    const found = (entry.headers || []).find(([key]) => key === name);
    return found ? found[1] : undefined;
  };

  /** The short label of an arrow: the command and the header that matters. */
  function label(entry) {
    const keys = {
      SEND: 'destination', SUBSCRIBE: 'destination', MESSAGE: 'destination', UNSUBSCRIBE: 'id',
      RECEIPT: 'receipt-id', ERROR: 'message', ACK: 'id', NACK: 'id', BEGIN: 'transaction',
      COMMIT: 'transaction', ABORT: 'transaction', CONNECT: 'login', STOMP: 'login', CONNECTED: 'version',
    };
    const value = keys[entry.command] && header(entry, keys[entry.command]);
    const text = value === undefined ? entry.command : `${entry.command} ${value}`;
    return text.length > 34 ? `${text.slice(0, 33)}…` : text;
  }

  /** For each MESSAGE (by entry index): the index of its SEND and of its ACK. */
  function links(entries, messages) {
    const byId = new Map((messages || []).map((m) => [m.message_id, m]));
    const sendOf = new Map();
    const used = new Set();
    for (const message of messages || []) {
      const index = entries.findIndex((e, i) => !used.has(i) && e.command === 'SEND' && e.direction === 'in' &&
        e.connection === message.connection && header(e, 'destination') === message.destination &&
        (message.body === undefined || message.body === null || e.body === message.body));
      if (index >= 0) {
        used.add(index);
        sendOf.set(message.message_id, index);
      }
    }
    const result = [];
    entries.forEach((entry, index) => {
      if (entry.command !== 'MESSAGE') return;
      const id = header(entry, 'message-id');
      const ackId = header(entry, 'ack');
      const ack = entries.findIndex((e, i) => i > index && e.connection === entry.connection &&
        (e.command === 'ACK' || e.command === 'NACK') &&
        (ackId !== undefined ? header(e, 'id') === ackId : header(e, 'message-id') === id));
      const send = byId.has(id) ? sendOf.get(id) : undefined;
      result.push({ message: index, send: send === undefined ? -1 : send, ack });
    });
    return result;
  }

  /** The SVG markup of the diagram. options.max caps the arrows drawn. */
  function render(data, options = {}) {
    const max = options.max || 400;
    const all = data.entries || [];
    const entries = all.slice(0, max);
    const lanes = data.connections || [];
    const left = lanes.slice(0, Math.ceil(lanes.length / 2));
    const right = lanes.slice(Math.ceil(lanes.length / 2));
    const x = new Map();
    left.forEach((lane, i) => x.set(lane.id, 90 + i * LANE));
    const broker = 90 + left.length * LANE + (left.length ? BROKER_LANE - LANE / 2 : 0);
    right.forEach((lane, i) => x.set(lane.id, broker + BROKER_LANE + LANE / 2 + i * LANE));
    const width = Math.max(...[broker, ...x.values()]) + 110;
    const height = TOP + entries.length * ROW + 40;
    const y = (index) => TOP + index * ROW + ROW / 2;
    const out = [];
    out.push(`<svg xmlns="http://www.w3.org/2000/svg" class="sequence" width="${width}" height="${height}" ` +
      `viewBox="0 0 ${width} ${height}" font-family="ui-monospace, monospace" font-size="12">`);
    out.push('<style>.lane{stroke:#bbb;stroke-dasharray:4 4}.arrow line{stroke:#333}.arrow text{fill:#222}' +
      '.arrow.out line{stroke:#1f6feb}.arrow.error line,.arrow.error text{stroke:#c62828;fill:#c62828}' +
      '.arrow:hover text{font-weight:bold}.link{stroke:#8e24aa;stroke-dasharray:3 3;fill:none;opacity:.55}' +
      '.head{font-weight:bold}.note{fill:#a15c00}.time{fill:#888;font-size:10px}</style>');
    out.push('<defs><marker id="tip" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" ' +
      'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="context-stroke"/></marker></defs>');
    const laneHead = (cx, text, cls) => {
      out.push(`<text class="head ${cls}" x="${cx}" y="22" text-anchor="middle">${esc(text)}</text>`);
      out.push(`<line class="lane" x1="${cx}" y1="32" x2="${cx}" y2="${height - 20}"/>`);
    };
    laneHead(broker, 'broker', 'broker');
    for (const lane of lanes) laneHead(x.get(lane.id), lane.label || `connection ${lane.id}`, 'connection');
    entries.forEach((entry, index) => {
      const cx = x.get(entry.connection);
      if (cx === undefined) return;
      const [from, to] = entry.direction === 'in' ? [cx, broker] : [broker, cx];
      const cls = `arrow ${entry.direction}${entry.command === 'ERROR' ? ' error' : ''}`;
      const details = [entry.command, ...(entry.headers || []).map(([k, v]) => `${k}:${v}`)];
      if (entry.body) details.push('', entry.body);
      out.push(`<g class="${cls}" id="arrow-${index}" data-index="${index}" data-command="${esc(entry.command)}" ` +
        `data-connection="${entry.connection}"><title>${esc(details.join('\n'))}</title>`);
      out.push(`<line x1="${from}" y1="${y(index)}" x2="${to}" y2="${y(index)}" marker-end="url(#tip)"/>`);
      out.push(`<text x="${(from + to) / 2}" y="${y(index) - 4}" text-anchor="middle">${esc(label(entry))}</text>`);
      out.push(`<text class="time" x="6" y="${y(index) + 4}">${Number(entry.at_ms).toFixed(1)}ms</text></g>`);
    });
    for (const link of links(entries, data.messages)) {
      const side = x.get(entries[link.message].connection) < broker ? -1 : 1;
      if (link.send >= 0) {
        const bend = broker + side * 28;
        out.push(`<path class="link send-link" data-from="${link.send}" data-to="${link.message}" ` +
          `d="M${broker},${y(link.send)} C${bend},${y(link.send)} ${bend},${y(link.message)} ${broker},${y(link.message)}"/>`);
      }
      if (link.ack >= 0) {
        const lane = x.get(entries[link.message].connection);
        const bend = lane - side * 24;
        out.push(`<path class="link ack-link" data-from="${link.message}" data-to="${link.ack}" ` +
          `d="M${lane},${y(link.message)} C${bend},${y(link.message)} ${bend},${y(link.ack)} ${lane},${y(link.ack)}"/>`);
      }
    }
    if (all.length > entries.length) {
      out.push(`<text class="note" x="10" y="${height - 6}">showing the first ${entries.length} of ${all.length} ` +
        'frames: narrow the selection to see the rest</text>');
    }
    out.push('</svg>');
    return out.join('');
  }

  root.StompboxDiagram = { render, links, label };
})(typeof window === 'undefined' ? globalThis : window);
