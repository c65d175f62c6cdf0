// The live web view: the broker's state from the HTTP API's JSON endpoints
// (refreshed as traffic arrives), the frame log from the long-poll
// GET /traffic, the sequence diagram (diagram.js) of the ticked connections,
// and the actions a tester wants. Plain DOM, no framework, no build step.
'use strict';

const $ = (selector) => document.querySelector(selector);
const LOG_LIMIT = 2000;
const state = { after: 0, paused: false, held: [], ticked: new Set(), unticked: new Set(), token: sessionStorage.getItem('stompbox-token') || '' };

function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (key === 'class') node.className = value;
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child ?? '')));
  return node;
}

async function api(method, path, body) {
  const headers = state.token ? { Authorization: `Bearer ${state.token}` } : {};
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (response.status === 401) {
    $('#token-box').hidden = false;
    throw new Error('this API needs a token: type it above');
  }
  const value = await response.json();
  if (!response.ok) throw new Error(value.error || `${method} ${path}: ${response.status}`);
  return value;
}
const get = (path) => api('GET', path);

function fill(tbody, rows) {
  tbody.replaceChildren(...rows);
}

// ---- the panels ------------------------------------------------------------

function connectionRow(c) {
  const open = c.closed === null;
  if (!state.unticked.has(c.id) && state.ticked.size < 6) state.ticked.add(c.id);
  const tick = element('input', { type: 'checkbox', 'data-connection': c.id });
  tick.checked = state.ticked.has(c.id);
  tick.addEventListener('change', () => {
    if (tick.checked) {
      state.ticked.add(c.id);
      state.unticked.delete(c.id);
    } else {
      state.ticked.delete(c.id);
      state.unticked.add(c.id);
    }
    drawDiagram();
  });
  const kick = open ? element('button', { type: 'button', class: 'kick', onclick: () => act(() => api('POST', `/connections/${c.id}/kick`)) }, 'kick') : '';
  const heartBeat = c.heart_beat ? `${c.heart_beat[0]},${c.heart_beat[1]}` : '';
  const stateText = open ? 'open' : `closed: ${c.closed.reason}`;
  return element('tr', { 'data-connection': c.id, class: open ? 'open' : 'closed' },
    element('td', {}, tick), element('td', {}, c.id), element('td', {}, c.transport), element('td', {}, c.login ?? ''),
    element('td', { class: 'client-id' }, c.client_id ?? ''), element('td', {}, c.version ?? ''), element('td', {}, heartBeat),
    element('td', { class: 'state' }, stateText), element('td', {}, kick));
}

function subscriptionRow(s) {
  return element('tr', { 'data-connection': s.connection, 'data-destination': s.destination },
    element('td', {}, s.connection), element('td', {}, s.id), element('td', { class: 'destination' }, s.destination),
    element('td', {}, s.ack), element('td', {}, s.delivered), element('td', {}, s.acked), element('td', {}, s.unacked));
}

async function refresh() {
  try {
    const [connections, subscriptions, queues, durables, transactions, errors, auth, denials, faults] = await Promise.all([
      get('/connections'), get('/subscriptions'), get('/queues'), get('/durable-subscriptions'), get('/transactions'),
      get('/errors'), get('/auth-failures'), get('/permission-denials'), get('/faults'),
    ]);
    fill($('#connections tbody'), connections.map(connectionRow));
    fill($('#subscriptions tbody'), subscriptions.map(subscriptionRow));
    fill($('#queues tbody'), queues.map((q) => element('tr', { 'data-destination': q.destination },
      element('td', {}, q.destination), element('td', { class: 'waiting' }, q.waiting.length), element('td', {}, q.unacked.length))));
    fill($('#durables tbody'), durables.map((d) => element('tr', {},
      element('td', {}, d.name), element('td', {}, d.topic), element('td', {}, d.active), element('td', {}, d.waiting))));
    $('#transactions').replaceChildren(...transactions.map((t) => element('li', {},
      `connection ${t.connection}, ${t.id}: ${t.frames.length} frame(s) held`,
      element('ul', {}, ...t.frames.map((f) => element('li', {}, `${f.command} ${headerOf(f, 'destination') ?? ''} ${f.body ?? ''}`))))));
    const problems = [
      ...errors.map((e) => [e.at_ms, `ERROR to connection ${e.connection}: ${e.message}`, 'problem-error']),
      ...auth.map((a) => [a.at_ms, `auth failure: ${JSON.stringify(a)}`, 'problem-auth']),
      ...denials.map((d) => [d.at_ms, `permission denied: ${JSON.stringify(d)}`, 'problem-denial']),
    ].sort((a, b) => b[0] - a[0]).slice(0, 50);
    $('#problems').replaceChildren(...problems.map(([, text, cls]) => element('li', { class: cls }, text)));
    $('#faults').replaceChildren(...faults.map((f) => element('li', { 'data-fault': f.id },
      `#${f.id} ${f.fault} (fired ${f.fired}) `,
      element('button', { type: 'button', onclick: () => act(() => api('DELETE', `/faults/${f.id}`)) }, 'disarm'))));
    drawDiagram();
  } catch (error) {
    $('#where').textContent = `the HTTP API: ${error.message}`;
  }
}

let refreshing = null;
/** A refresh soon, once for many triggers. */
function refreshSoon() {
  if (!refreshing) refreshing = setTimeout(() => { refreshing = null; refresh(); }, 150);
}

const headerOf = (frame, name) => (frame.headers.find(([key]) => key === name) || [])[1];

// ---- the frame log -----------------------------------------------------------

const hex = (text) => Array.from(new TextEncoder().encode(text), (b) => b.toString(16).padStart(2, '0')).join(' ');

function logEntry(entry) {
  if (!entry.frame) {
    return element('li', { class: 'close', 'data-seq': entry.seq, 'data-connection': entry.connection },
      element('details', {}, element('summary', {}, `${entry.at_ms.toFixed(1)}ms conn ${entry.connection} closed: ${entry.closed}`)));
  }
  const f = entry.frame;
  const body = f.body ?? (f.body_base64 ? atob(f.body_base64) : '');
  const shown = element('pre', { class: 'body' }, body);
  const asHex = element('button', { type: 'button', onclick: () => {
    const showingHex = shown.dataset.hex === '1';
    shown.textContent = showingHex ? body : hex(body);
    shown.dataset.hex = showingHex ? '0' : '1';
  } }, 'text / hex');
  const summary = `${entry.at_ms.toFixed(1)}ms conn ${entry.connection} ${f.command} ${headerOf(f, 'destination') ?? ''}`;
  return element('li', { class: `frame ${entry.direction}`, 'data-seq': entry.seq, 'data-connection': entry.connection,
    'data-command': f.command, 'data-destination': headerOf(f, 'destination') ?? '' },
    element('details', {}, element('summary', {}, summary),
      element('pre', { class: 'headers' }, f.headers.map(([k, v]) => `${k}:${v}`).join('\n')),
      body ? shown : '', body ? asHex : ''));
}

function admitted(item) {
  const connection = $('#filter-connection').value.trim();
  const destination = $('#filter-destination').value.trim();
  const command = $('#filter-command').value.trim().toUpperCase();
  return (!connection || item.dataset.connection === connection) &&
    (!destination || item.dataset.destination === destination) &&
    (!command || item.dataset.command === command);
}

function applyFilters() {
  for (const item of $('#log').children) item.hidden = !admitted(item);
}

function append(entries) {
  const log = $('#log');
  for (const entry of entries) {
    const item = logEntry(entry);
    item.hidden = !admitted(item);
    log.append(item);
  }
  while (log.children.length > LOG_LIMIT) log.firstElementChild.remove();
  $('#log-status').textContent = log.children.length === LOG_LIMIT ? `the last ${LOG_LIMIT} entries` : '';
}

async function follow() {
  for (;;) {
    try {
      const page = await get(`/traffic?after=${state.after}&timeout_ms=20000`);
      state.after = page.next;
      if (page.missed) page.entries.unshift({ seq: 0, at_ms: 0, connection: '-', closed: `${page.missed} entries missed` });
      if (state.paused) {
        state.held.push(...page.entries);
        $('#log-status').textContent = `paused: ${state.held.length} new`;
      } else {
        append(page.entries);
      }
      if (page.entries.length) refreshSoon();
    } catch (error) {
      $('#log-status').textContent = `the feed: ${error.message}; retrying`;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

// ---- the sequence diagram ------------------------------------------------------

let drawing = false;
async function drawDiagram() {
  if (drawing) return;
  drawing = true;
  try {
    const ids = [...state.ticked].sort((a, b) => a - b);
    const transcripts = await Promise.all(ids.map((id) => get(`/connections/${id}/frames`).catch(() => [])));
    const entries = transcripts.flatMap((frames, i) => frames.filter((f) => f.frame).map((f) => ({
      connection: ids[i], at_ms: f.at_ms, direction: f.direction, command: f.frame.command,
      headers: f.frame.headers, body: f.frame.body,
    }))).sort((a, b) => a.at_ms - b.at_ms || (a.direction === 'in' ? 0 : 1) - (b.direction === 'in' ? 0 : 1));
    // At the same instant, what came in (a SEND) before what it caused (its MESSAGE).
    const messages = (await get('/messages?limit=5000')).filter((m) => m.origin.kind === 'client').map((m) => ({
      message_id: m.message_id, connection: m.origin.connection, destination: m.destination, body: m.body,
    }));
    const rows = [...document.querySelectorAll('#connections tbody tr')];
    const labels = new Map(rows.map((row) => [Number(row.dataset.connection), row.querySelector('.client-id').textContent]));
    const connections = ids.map((id) => ({ id, label: labels.get(id) ? `${id}: ${labels.get(id)}` : `connection ${id}` }));
    $('#diagram').innerHTML = ids.length
      ? StompboxDiagram.render({ connections, entries, messages })
      : '<p class="hint">Tick connections in the table to draw them.</p>';
  } catch (error) {
    $('#diagram').textContent = `the diagram: ${error.message}`;
  } finally {
    drawing = false;
  }
}

// ---- actions ---------------------------------------------------------------------

async function act(action, result) {
  try {
    const answer = await action();
    if (result) result.textContent = JSON.stringify(answer);
  } catch (error) {
    if (result) result.textContent = error.message;
  }
  refreshSoon();
}

function headersOf(text) {
  const headers = {};
  for (const line of text.split('\n')) {
    const at = line.indexOf(':');
    if (at > 0) headers[line.slice(0, at).trim()] = line.slice(at + 1).trim();
  }
  return headers;
}

function wire() {
  $('#publish').addEventListener('submit', (event) => {
    event.preventDefault();
    act(() => api('POST', '/messages', {
      destination: $('#publish-destination').value, body: $('#publish-body').value, headers: headersOf($('#publish-headers').value),
    }), $('#publish-result'));
  });
  $('#reset').addEventListener('click', () => act(() => api('POST', '/reset')));
  $('#clear-queues').addEventListener('click', () => act(() => api('DELETE', '/queues')));
  $('#fault').addEventListener('submit', (event) => {
    event.preventDefault();
    act(() => api('POST', '/faults', JSON.parse($('#fault-rule').value)), $('#fault-result'));
  });
  $('#pause').addEventListener('click', () => {
    state.paused = !state.paused;
    $('#pause').textContent = state.paused ? 'Resume' : 'Pause';
    if (!state.paused) {
      append(state.held.splice(0));
    }
  });
  for (const input of ['#filter-connection', '#filter-destination', '#filter-command']) {
    $(input).addEventListener('input', applyFilters);
  }
  $('#token').value = state.token;
  $('#token').addEventListener('change', () => {
    state.token = $('#token').value;
    sessionStorage.setItem('stompbox-token', state.token);
    refresh();
  });
}

async function start() {
  wire();
  try {
    const info = await get('/info');
    $('#where').textContent = `STOMP on ${info.stomp}, WebSocket at ${info.ws}, stompbox ${info.version}`;
    const binding = $('#binding');
    binding.textContent = info.loopback
      ? `this API listens on ${info.http}: loopback only`
      : `this API listens on ${info.http}, beyond loopback${info.token ? ', with a token' : ', with no authentication'}`;
    binding.classList.toggle('warning', !info.loopback);
  } catch (error) {
    $('#where').textContent = `the HTTP API: ${error.message}`;
  }
  await refresh();
  setInterval(refresh, 3000);
  follow();
}

start();
