// @ts-check
// The offline Slack workspace page: plain DOM, one snapshot of what the signed-in person sees,
// refreshed whenever the server says something changed (server-sent events).

/** @typedef {import('./types').Snapshot} Snapshot */
/** @typedef {import('./types').Message} Message */
/** @typedef {import('./types').Block} Block */
/** @typedef {import('./types').BlockNode} BlockNode */
/** @typedef {import('./types').TextObject} TextObject */
/** @typedef {import('./types').Option} Option */
/** @typedef {import('./types').Confirm} Confirm */
/** @typedef {import('./types').SharedFile} SharedFile */
/** @typedef {import('./types').Place} Place */
/** @typedef {import('./types').RenderContext} RenderContext */

/**
 * The page's element for a selector; index.html has every one the script asks for.
 * @param {string} selector
 */
const $ = (selector) => /** @type {HTMLElement} */ (document.querySelector(selector));
/** @param {string} selector */
const $input = (selector) => /** @type {HTMLInputElement} */ (document.querySelector(selector));
const store = {
  /** @template T @param {string} key @param {T} fallback @returns {T} */
  get: (key, fallback) => {
    try {
      return JSON.parse(localStorage.getItem(key) ?? 'null') ?? fallback;
    } catch {
      return fallback;
    }
  },
  /** @param {string} key @param {unknown} value */
  set: (key, value) => localStorage.setItem(key, JSON.stringify(value)),
};

const app = {
  /** @type {string | null} */
  userId:
    new URLSearchParams(location.search).get('user') ||
    store.get('kling-demo-user', /** @type {string | null} */ (null)),
  /** @type {Snapshot | null} */
  snap: null,
  place: store.get('kling-demo-place', /** @type {Place | null} */ (null)),
  /** @type {string | null} */
  threadTs: null,
  /** @type {Record<string, string>} */
  renderedKeys: {},
  /** @type {Map<string, string>} ts → editedTs, to flash what is new or changed */
  known: new Map(),
  /** @type {string | null} */
  modalKey: null,
  /** @type {string[]} */
  history: [],
  historyIndex: -1,
};

/** The snapshot, once the first fetch has brought it (render and everything it calls run only after that). */
const snap = () => /** @type {Snapshot} */ (app.snap);
/** Who is signed in: start() settles it before anything renders. */
const myId = () => /** @type {string} */ (app.userId);

// ---------------------------------------------------------------------------------------------
// text: Slack mrkdwn and plain_text

// Every shortcode Slack knows, served by the workspace as /emoji.js (loaded before this script).
const EMOJI = window.SLACK_EMOJI ?? {};

/** @param {unknown} s */
const escapeHtml = (s) =>
  String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
/** @param {unknown} s */
const decodeSlack = (s) => String(s).replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
/** @param {string} html */
const emojify = (html) => html.replace(/:([a-z0-9_+-]+):/g, (m, name) => EMOJI[name] ?? m);

/** @param {string} id */
function userName(id) {
  return app.snap?.users.find((u) => u.id === id)?.name ?? id;
}
/** @param {string} id */
function channelName(id) {
  return app.snap?.conversations.find((c) => c.id === id)?.name ?? id;
}

/**
 * <@U…>, <#C…|name>, <!channel>, <!date^…|fallback>, <url|label>, as Slack shows them.
 * @param {string} inner
 */
function angle(inner) {
  const [target, label] = [inner.split('|')[0] ?? '', inner.split('|').slice(1).join('|')];
  if (target.startsWith('@'))
    return `<span class="mention user">@${escapeHtml(label || userName(target.slice(1)))}</span>`;
  if (target.startsWith('#'))
    return `<span class="mention user">#${escapeHtml(label || channelName(target.slice(1)))}</span>`;
  if (target.startsWith('!')) {
    const special = target.slice(1).split('^')[0] ?? '';
    if (special === 'date') return liveDate(target, label);
    if (['channel', 'here', 'everyone'].includes(special)) return `<span class="mention">@${special}</span>`;
    return escapeHtml(decodeSlack(label || special));
  }
  if (/^(https?:|mailto:)/i.test(target)) {
    return `<a href="${escapeHtml(decodeSlack(target))}" target="_blank" rel="noopener">${escapeHtml(decodeSlack(label || target))}</a>`;
  }
  return escapeHtml(decodeSlack(`<${inner}>`));
}

/**
 * <!date^1700000000^{date_short_pretty} {time}|fallback>, in the reader's own time zone as Slack shows it.
 * @param {string} target
 * @param {string} fallback
 */
function formatSlackDate(target, fallback) {
  const [, seconds, format] = target.split('^');
  const date = new Date(Number(seconds) * 1000);
  if (!format || Number.isNaN(date.getTime())) return decodeSlack(fallback || '');
  /** @param {Date} d */
  const day = (d) => new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
  const today = day(new Date());
  /** @param {() => string} fallbackFormat */
  const pretty = (fallbackFormat) => {
    const diff = Math.round((day(date) - today) / 86_400_000);
    return diff === 0 ? 'today' : diff === 1 ? 'tomorrow' : diff === -1 ? 'yesterday' : fallbackFormat();
  };
  const short = () => date.toLocaleDateString([], { month: 'short', day: 'numeric', year: 'numeric' });
  const long = () => date.toLocaleDateString([], { weekday: 'long', month: 'long', day: 'numeric', year: 'numeric' });
  /** @type {Record<string, () => string>} */
  const tokens = {
    date_num: () => date.toISOString().slice(0, 10),
    date: () => date.toLocaleDateString([], { month: 'long', day: 'numeric', year: 'numeric' }),
    date_short: short,
    date_long: long,
    date_pretty: () => pretty(() => date.toLocaleDateString([], { month: 'long', day: 'numeric', year: 'numeric' })),
    date_short_pretty: () => pretty(short),
    date_long_pretty: () => pretty(long),
    time: () => date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }),
    time_secs: () => date.toLocaleTimeString(),
    ago: () => ago(date),
  };
  return format.replace(/\{(\w+)\}/g, (whole, token) => (tokens[token] ? tokens[token]() : whole));
}

/**
 * "3 minutes ago", as Slack's {ago} token reads.
 * @param {Date} date
 */
function ago(date) {
  const seconds = Math.max(0, Math.round((Date.now() - date.getTime()) / 1000));
  const [n, unit] =
    seconds < 60
      ? [seconds, 'second']
      : seconds < 3600
        ? [Math.floor(seconds / 60), 'minute']
        : seconds < 86_400
          ? [Math.floor(seconds / 3600), 'hour']
          : [Math.floor(seconds / 86_400), 'day'];
  return `${n} ${unit}${n === 1 ? '' : 's'} ago`;
}

/**
 * A date token; one with {ago} keeps moving, as in Slack's clients, without a new render of its message.
 * @param {string} target
 * @param {string} fallback
 */
function liveDate(target, fallback) {
  const text = escapeHtml(formatSlackDate(target, fallback));
  if (!target.includes('{ago}')) return text;
  return `<span class="live-date" data-target="${escapeHtml(target)}">${text}</span>`;
}

setInterval(() => {
  for (const node of /** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll('.live-date'))) {
    node.textContent = formatSlackDate(node.dataset.target ?? '', '');
  }
}, 1000);

/** @param {unknown} text */
function mrkdwn(text) {
  /** @type {string[]} */
  const held = [];
  /** @param {string} html */
  const hold = (html) => `\u0000${held.push(html) - 1}\u0000`;
  let s = String(text ?? '');
  s = s.replace(/```([\s\S]*?)```/g, (_, code) => hold(`<pre>${escapeHtml(decodeSlack(code))}</pre>`));
  s = s.replace(/`([^`\n]+)`/g, (_, code) => hold(`<code>${escapeHtml(decodeSlack(code))}</code>`));
  s = s.replace(/<([^<>\s][^<>]*)>/g, (_, inner) => hold(angle(inner)));
  s = escapeHtml(decodeSlack(s));
  const edge = '[\\s\\u0000().,!?:;"\'~_*]';
  for (const [mark, tag] of [
    ['\\*', 'strong'],
    ['_', 'em'],
    ['~', 's'],
  ]) {
    s = s.replace(
      new RegExp(`(^|${edge})${mark}(?=\\S)([^\\n]*?\\S)${mark}(?=$|${edge})`, 'g'),
      `$1<${tag}>$2</${tag}>`,
    );
  }
  s = s.replace(/^&gt; ?(.*)$/gm, '<span class="quote">$1</span>');
  s = emojify(s).replace(/\n/g, '<br>');
  // biome-ignore lint/suspicious/noControlCharactersInRegex: U+0000 marks the spans held aside; no typed text has it.
  return s.replace(/\u0000(\d+)\u0000/g, (_, i) => held[Number(i)] ?? '');
}

/**
 * A text object: mrkdwn or plain_text.
 * @param {TextObject | undefined} obj
 */
function textHtml(obj) {
  if (!obj) return '';
  if (obj.type === 'mrkdwn') return mrkdwn(obj.text);
  const plain = escapeHtml(obj.text ?? '').replace(/\n/g, '<br>');
  return obj.emoji === false ? plain : emojify(plain);
}

/**
 * An element with attributes (on… ones are listeners; false, null and undefined leave the attribute out).
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, unknown>} [attrs]
 * @param {string} [html]
 * @returns {HTMLElementTagNameMap[K]}
 */
function el(tag, attrs = {}, html) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on')) node.addEventListener(key.slice(2), /** @type {EventListener} */ (value));
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  if (html !== undefined) node.innerHTML = html;
  return node;
}

// ---------------------------------------------------------------------------------------------
// talking to the workspace

/** @type {number | undefined} */
let toastTimer;
/** @param {string} message */
function toast(message) {
  const node = $('#toast');
  node.textContent = message;
  node.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (node.hidden = true), 4500);
}

/**
 * @param {string} path
 * @param {Record<string, unknown>} body
 * @returns {Promise<{ error?: string; status?: number }>}
 */
async function post(path, body) {
  try {
    const res = await fetch(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user: app.userId, ...body }),
    });
    const data = await res.json().catch(() => ({}));
    if (!res.ok) toast(data.error || `Something went wrong (${res.status})`);
    else if (data.status !== undefined && data.status !== 200)
      toast(`The app did not respond properly (HTTP ${data.status}).`);
    return data;
  } catch {
    toast('The workspace is not reachable. Is `npm run demo` still running?');
    return {};
  }
}

let fetching = false;
let again = false;
/** Fetches what the person sees and renders it; calls during a fetch collapse into one more. */
async function refresh() {
  if (fetching) {
    again = true;
    return;
  }
  fetching = true;
  try {
    const res = await fetch(`/ui/state?user=${encodeURIComponent(app.userId ?? '')}`);
    if (!res.ok) throw new Error(`state ${res.status}`);
    app.snap = await res.json();
  } catch {
    // A failed fetch must not lose the change that asked for it: the stream may send nothing more.
    again = false;
    setTimeout(refresh, 500);
    return;
  } finally {
    fetching = false;
  }
  render();
  if (again) {
    again = false;
    refresh();
  }
}

function listen() {
  const events = new EventSource('/ui/events');
  events.onmessage = () => refresh();
}

// ---------------------------------------------------------------------------------------------
// where we are

const _me = () => snap().me;
const appDm = () => snap().conversations.find((c) => c.kind === 'im');
const currentChannelId = () => (app.place?.kind === 'app' ? appDm()?.id : app.place?.id);
// The manifest can make the app's Messages tab read-only: its messages show, with no composer, as in Slack.
const readOnlyHere = () => app.place?.kind === 'app' && snap().messagesTabReadOnly;
const lastSeenKey = () => `kling-demo-seen-${app.userId}`;

/** @param {Place} place */
function go(place) {
  app.place = place;
  app.threadTs = null;
  store.set('kling-demo-place', place);
  app.renderedKeys = {};
  if (place.kind === 'app' && place.tab === 'home') post('/ui/home', {});
  render();
  if ((place.kind !== 'app' || place.tab === 'messages') && !readOnlyHere()) $input('#composer-input').focus();
}

/** What each conversation's newest message was when the person last looked. */
const lastSeen = () => store.get(lastSeenKey(), /** @type {Record<string, string>} */ ({}));

/** @param {string} channelId */
function markSeen(channelId) {
  const list = snap().messages[channelId] ?? [];
  const seen = lastSeen();
  const latest = list.at(-1)?.ts ?? '0';
  if (seen[channelId] !== latest) {
    seen[channelId] = latest;
    store.set(lastSeenKey(), seen);
  }
}

/** Messages already there the first time a person looks count as read; what arrives later is unread until opened. */
function rememberFirstLook() {
  const seen = lastSeen();
  let changed = false;
  for (const c of snap().conversations) {
    if (seen[c.id] !== undefined) continue;
    const list = snap().messages[c.id] ?? [];
    seen[c.id] = list.at(-1)?.ts ?? '0';
    changed = true;
  }
  if (changed) store.set(lastSeenKey(), seen);
}

/** @param {string} channelId */
function unread(channelId) {
  const seen = lastSeen()[channelId] ?? '0';
  return (snap().messages[channelId] ?? []).filter(
    (m) => !m.threadTs && m.user !== app.userId && Number(m.ts) > Number(seen),
  ).length;
}

// ---------------------------------------------------------------------------------------------
// rendering

/**
 * @param {string} userId
 * @param {boolean} [small]
 */
function avatar(userId, small) {
  const user = snap().users.find((u) => u.id === userId);
  const cls = ['avatar', small && 'small', userId === snap().botUserId && 'bot', userId === 'USLACKBOT' && 'slackbot']
    .filter(Boolean)
    .join(' ');
  const node = el('span', { class: cls }, escapeHtml((user?.name ?? '?').slice(0, 1).toUpperCase()));
  if (!user?.isBot)
    node.style.background = `hsl(${[...userId].reduce((h, c) => h + c.charCodeAt(0) * 37, 0) % 360} 55% 45%)`;
  return node;
}

/** @param {Node} child */
function listItem(child) {
  const item = el('li');
  item.append(child);
  return item;
}

function renderChrome() {
  const select = /** @type {HTMLSelectElement} */ ($('#user-select'));
  const people = snap().people.flatMap((id) => snap().users.filter((u) => u.id === id));
  const signature = people.map((p) => p.id).join();
  if (select.dataset.signature !== signature) {
    select.innerHTML = '';
    for (const p of people)
      select.append(el('option', { value: p.id }, escapeHtml(p.isAdmin ? `${p.name} (admin)` : p.name)));
    select.dataset.signature = signature;
  }
  select.value = myId();
  $('#me-avatar').replaceWith(Object.assign(avatar(myId(), true), { id: 'me-avatar' }));

  const channelList = $('#channel-list');
  channelList.innerHTML = '';
  for (const c of snap().conversations.filter((c) => c.kind === 'channel')) {
    const active = app.place?.kind === 'channel' && app.place.id === c.id;
    const count = active ? 0 : unread(c.id);
    const button = el('button', {
      class: [active && 'active', count && 'unread'].filter(Boolean).join(' '),
      'data-channel': c.name,
      onclick: () => go({ kind: 'channel', id: c.id }),
    });
    button.append(el('span', { class: 'hash' }, '#'), el('span', {}, escapeHtml(c.name)));
    if (count) button.append(el('span', { class: 'badge' }, String(count)));
    channelList.append(listItem(button));
  }

  const appList = $('#app-list');
  appList.innerHTML = '';
  const dm = appDm();
  const appActive = app.place?.kind === 'app';
  const appCount = appActive || !dm ? 0 : unread(dm.id);
  const appButton = el('button', {
    class: [appActive && 'active', appCount && 'unread'].filter(Boolean).join(' '),
    'data-app': 'kling',
    onclick: () => go({ kind: 'app', tab: 'home' }),
  });
  appButton.append(avatar(snap().botUserId, true), el('span', {}, 'Kling'));
  if (appCount) appButton.append(el('span', { class: 'badge' }, String(appCount)));
  appList.append(listItem(appButton));

  const dmList = $('#dm-list');
  dmList.innerHTML = '';
  const groups = snap().conversations.filter((c) => c.kind === 'mpim');
  /** @type {HTMLElement} */ (dmList.previousElementSibling).hidden = groups.length === 0;
  for (const g of groups) {
    const active = app.place?.kind === 'channel' && app.place.id === g.id;
    const names = g.name
      .split(',')
      .filter((id) => id !== app.userId)
      .map(userName)
      .join(', ');
    dmList.append(
      listItem(
        el(
          'button',
          { class: active ? 'active' : '', onclick: () => go({ kind: 'channel', id: g.id }) },
          `<span class="hash">👥</span><span>${escapeHtml(names)} + Kling</span>`,
        ),
      ),
    );
  }
}

function renderHeader() {
  const tabs = $('#app-tabs');
  if (app.place?.kind === 'app') {
    $('#conversation-title').innerHTML = '';
    $('#conversation-title').append(avatar(snap().botUserId, true), document.createTextNode('Kling'));
    $('#conversation-topic').textContent = 'Generate Kling videos within your team’s budget';
    tabs.hidden = false;
    const current = app.place.tab;
    for (const tab of tabs.querySelectorAll('.tab')) {
      tab.classList.toggle('active', tab instanceof HTMLElement && tab.dataset.tab === current);
    }
  } else {
    const c = snap().conversations.find((c) => c.id === currentChannelId());
    $('#conversation-title').textContent = c?.kind === 'channel' ? `# ${c.name}` : 'Group message';
    /** @type {Record<string, string>} */
    const topics = {
      general: 'Company-wide announcements and work chatter',
      video: 'Video generation with /kling',
      'kling-alerts': 'Budget alerts from Kling',
    };
    $('#conversation-topic').textContent = (c && topics[c.name]) ?? '';
    tabs.hidden = true;
  }
}

/**
 * The Block Kit renderer, for a message or a view.
 * @param {Block[] | undefined} blocks
 * @param {RenderContext} ctx
 */
function renderBlocks(blocks, ctx) {
  const box = el('div', { class: 'blocks' });
  for (const block of blocks ?? []) {
    const node = renderBlock(block, ctx);
    if (node) box.append(node);
  }
  return box;
}

/**
 * @param {Block} input
 * @param {RenderContext} ctx
 * @returns {HTMLElement | null}
 */
function renderBlock(input, ctx) {
  if (input.type === 'markdown') return el('div', { class: 'b-markdown text' }, mrkdwn(input.text));
  const block = /** @type {BlockNode} */ (input);
  switch (block.type) {
    case 'section': {
      const node = el('div', { class: 'b-section', 'data-block-id': block.block_id });
      const main = el('div', { class: 'b-section-main' });
      if (block.text) main.append(el('div', { class: 'text' }, textHtml(block.text)));
      if (block.fields) {
        const fields = el('div', { class: 'b-fields' });
        for (const f of block.fields) fields.append(el('div', { class: 'text' }, textHtml(f)));
        main.append(fields);
      }
      node.append(main);
      if (block.accessory) {
        const accessory = el('div', { class: 'b-accessory' });
        accessory.append(renderElement(block.accessory, block, ctx));
        node.append(accessory);
      }
      return node;
    }
    case 'header':
      return el('div', { class: 'b-header' }, textHtml(block.text));
    case 'divider':
      return el('hr', { class: 'b-divider' });
    case 'image': {
      const node = el('figure', { class: 'b-image', style: 'margin:0' });
      if (block.title) node.append(el('div', { class: 'title' }, textHtml(block.title)));
      node.append(el('img', { src: block.image_url, alt: block.alt_text, loading: 'lazy' }));
      return node;
    }
    case 'context': {
      const node = el('div', { class: 'b-context' });
      for (const e of block.elements ?? []) {
        // A context element is an image or a text object itself.
        const text = /** @type {TextObject} */ (/** @type {unknown} */ (e));
        const image = e.type === 'image';
        node.append(image ? el('img', { src: e.image_url, alt: e.alt_text }) : el('span', {}, textHtml(text)));
      }
      return node;
    }
    case 'actions': {
      const node = el('div', { class: 'b-actions', 'data-block-id': block.block_id });
      for (const e of block.elements ?? []) node.append(renderElement(e, block, ctx));
      return node;
    }
    case 'input':
      return renderInput(block, ctx);
    case 'rich_text':
      return el('div', { class: 'b-rich text' }, escapeHtml(richText(block)).replace(/\n/g, '<br>'));
    case 'video':
      return fileChip({
        name: block.title?.text ?? 'Video',
        url: block.title_url ?? block.video_url,
        mimetype: 'video/mp4',
      });
    default:
      return null;
  }
}

/**
 * @param {BlockNode} node
 * @returns {string}
 */
function richText(node) {
  const text = /** @type {unknown} */ (node.text);
  if (typeof text === 'string') return text;
  if (node.type === 'link') return node.url ?? '';
  if (node.type === 'user') return `@${userName(node.user_id ?? '')}`;
  return (node.elements ?? []).map(richText).join(node.type === 'rich_text_list' ? '\n' : '');
}

/**
 * Sends a block_actions payload for this element, from a message or a view.
 * @param {BlockNode} element
 * @param {string | string[] | undefined} value
 * @param {RenderContext} ctx
 * @param {HTMLButtonElement} [trigger]
 */
async function act(element, value, ctx, trigger) {
  if (element.confirm && !(await confirmDialog(element.confirm))) return;
  if (trigger) trigger.disabled = true;
  const body = { actionId: element.action_id, value };
  if (ctx.kind === 'view') Object.assign(body, { viewId: ctx.viewId, values: ctx.collect ? ctx.collect() : undefined });
  else Object.assign(body, { channel: ctx.channel, ts: ctx.ts });
  await post('/ui/action', body);
  if (trigger) trigger.disabled = false;
}

/** @param {Option} o */
function optionLabel(o) {
  return escapeHtml(o.text?.text ?? o.value);
}

/**
 * @param {BlockNode} element
 * @param {Option[] | undefined} options
 * @param {(string | undefined)[]} selected
 * @param {boolean} multiple
 */
function selectFor(element, options, selected, multiple) {
  const select = el('select', { class: 'select', multiple, 'data-action-id': element.action_id });
  if (!multiple)
    select.append(el('option', { value: '' }, escapeHtml(element.placeholder?.text ?? 'Select an option')));
  /** @type {(parent: HTMLElement, o: Option) => void} */
  const add = (parent, o) =>
    parent.append(el('option', { value: o.value, selected: selected.includes(o.value) }, optionLabel(o)));
  for (const o of options ?? []) add(select, o);
  for (const g of element.option_groups ?? []) {
    const group = el('optgroup', { label: g.label?.text ?? '' });
    for (const o of g.options ?? []) add(group, o);
    select.append(group);
  }
  return select;
}

/**
 * Interactive elements outside input blocks fire block_actions as soon as they are used.
 * @param {BlockNode} e
 * @param {BlockNode} block
 * @param {RenderContext} ctx
 */
function renderElement(e, block, ctx) {
  switch (e.type) {
    case 'button': {
      const button = el(
        'button',
        { type: 'button', class: ['btn', e.style].filter(Boolean).join(' '), 'data-action-id': e.action_id },
        textHtml(e.text),
      );
      button.addEventListener('click', () => {
        if (e.url) window.open(e.url, '_blank', 'noopener');
        act(e, e.value, ctx, button);
      });
      return button;
    }
    case 'image':
      return el('img', { src: e.image_url, alt: e.alt_text });
    case 'overflow': {
      const select = selectFor({ ...e, placeholder: { text: '⋯' } }, e.options, [], false);
      select.addEventListener('change', () => select.value && act(e, select.value, ctx));
      return select;
    }
    case 'static_select':
    case 'users_select':
    case 'conversations_select':
    case 'channels_select': {
      const select = selectFor(
        e,
        optionsOf(e),
        [e.initial_option?.value ?? e.initial_user ?? e.initial_conversation ?? e.initial_channel].filter(Boolean),
        false,
      );
      select.addEventListener('change', () => act(e, select.value, ctx));
      return select;
    }
    case 'checkboxes':
    case 'radio_buttons': {
      const initial = (e.initial_options ?? [e.initial_option]).flatMap((o) => (o ? [o.value] : []));
      const group = choiceGroup(e, `${block.block_id}-${e.action_id}`, initial);
      group.addEventListener('change', () => {
        const checked = /** @type {NodeListOf<HTMLInputElement>} */ (group.querySelectorAll('input:checked'));
        const chosen = [...checked].map((i) => i.value);
        act(e, e.type === 'checkboxes' ? chosen : chosen[0], ctx);
      });
      return group;
    }
    case 'datepicker': {
      const input = el('input', { type: 'date', class: 'select', value: e.initial_date });
      input.addEventListener('change', () => act(e, input.value, ctx));
      return input;
    }
    default:
      return el('span', { class: 'time' }, `[${escapeHtml(e.type)}]`);
  }
}

/**
 * @param {BlockNode} e
 * @returns {Option[] | undefined}
 */
function optionsOf(e) {
  if (e.type === 'users_select') return snap().people.map((id) => ({ value: id, text: { text: userName(id) } }));
  if (e.type === 'conversations_select' || e.type === 'channels_select') {
    return snap()
      .conversations.filter((c) => c.kind === 'channel')
      .map((c) => ({ value: c.id, text: { text: `#${c.name}` } }));
  }
  return e.options;
}

/**
 * @param {BlockNode} e
 * @param {string} name
 * @param {string[]} selected
 */
function choiceGroup(e, name, selected) {
  const group = el('div', { class: 'choices', 'data-action-id': e.action_id });
  for (const o of e.options ?? []) {
    const label = el('label');
    label.append(
      el('input', {
        type: e.type === 'checkboxes' ? 'checkbox' : 'radio',
        name,
        value: o.value,
        checked: selected.includes(o.value),
      }),
    );
    label.append(
      el(
        'span',
        {},
        `${textHtml(o.text)}${o.description ? `<span class="desc">${textHtml(o.description)}</span>` : ''}`,
      ),
    );
    group.append(label);
  }
  return group;
}

/**
 * Input blocks (modals and home): the value comes from state.values when Slack already holds one, else the initial value.
 * @param {BlockNode} block
 * @param {RenderContext} ctx
 */
function renderInput(block, ctx) {
  const e = block.element ?? { type: '' }; // Slack refuses an input block without one
  const view = ctx.kind === 'view' ? ctx : undefined;
  const current = view?.state?.[block.block_id ?? '']?.[e.action_id ?? ''];
  const error = view?.errors?.[block.block_id ?? ''];
  const node = el('div', {
    class: `b-input${error ? ' invalid' : ''}`,
    'data-block-id': block.block_id,
    'data-type': e.type,
    'data-optional': block.optional ? 'true' : undefined,
  });
  const id = `in-${block.block_id}`;
  node.append(
    el(
      'label',
      { class: 'label', for: id },
      `${textHtml(block.label)}${block.optional ? ' <span class="optional">(optional)</span>' : ''}`,
    ),
  );
  const placeholder = e.placeholder?.text;
  /** @type {HTMLElement} */
  let field;
  switch (e.type) {
    case 'plain_text_input':
    case 'email_text_input':
    case 'url_text_input': {
      const value = current?.value ?? e.initial_value ?? '';
      const text = e.multiline
        ? el('textarea', { id, placeholder, maxlength: e.max_length, 'data-action-id': e.action_id })
        : el('input', { id, type: 'text', placeholder, maxlength: e.max_length, 'data-action-id': e.action_id });
      text.value = value;
      field = text;
      break;
    }
    case 'number_input': {
      const number = el('input', {
        id,
        type: 'number',
        step: e.is_decimal_allowed ? 'any' : '1',
        min: e.min_value,
        max: e.max_value,
        placeholder,
        'data-action-id': e.action_id,
      });
      number.value = current?.value ?? e.initial_value ?? '';
      field = number;
      break;
    }
    case 'static_select':
    case 'multi_static_select':
    case 'users_select':
    case 'conversations_select':
    case 'channels_select': {
      const chosen = current
        ? [
            current.selected_option?.value,
            ...(current.selected_options ?? []).map((o) => o.value),
            current.selected_user,
            current.selected_conversation,
            current.selected_channel,
          ]
        : [
            e.initial_option?.value,
            ...(e.initial_options ?? []).map((o) => o.value),
            e.initial_user,
            e.initial_conversation,
            e.initial_channel,
          ];
      field = selectFor(e, optionsOf(e), chosen.filter(Boolean), e.type === 'multi_static_select');
      field.id = id;
      break;
    }
    case 'checkboxes':
    case 'radio_buttons': {
      const chosen = current
        ? [current.selected_option, ...(current.selected_options ?? [])]
        : [e.initial_option, ...(e.initial_options ?? [])];
      field = choiceGroup(
        e,
        id,
        chosen.flatMap((o) => (o ? [o.value] : [])),
      );
      break;
    }
    case 'datepicker':
      field = el('input', {
        id,
        type: 'date',
        'data-action-id': e.action_id,
        value: current?.selected_date ?? e.initial_date,
      });
      break;
    case 'timepicker':
      field = el('input', {
        id,
        type: 'time',
        'data-action-id': e.action_id,
        value: current?.selected_time ?? e.initial_time,
      });
      break;
    default:
      field = el('div', { class: 'hint' }, `Unsupported input: ${escapeHtml(e.type)}`);
  }
  node.append(field);
  if (block.dispatch_action && view) dispatchChanges(field, e, view);
  if (block.hint) node.append(el('div', { class: 'hint' }, textHtml(block.hint)));
  if (error) node.append(el('div', { class: 'error' }, mrkdwn(error)));
  return node;
}

/** How long typing pauses before an on_character_entered input tells the app (Slack, too, does not send every key). */
const TYPING_PAUSE_MS = 400;

/**
 * An input block with dispatch_action sends block_actions as Slack's client does: a select or a choice when it
 * changes; a text input on Enter, or after a pause in typing when its dispatch_action_config asks for every character.
 * @param {HTMLElement} field
 * @param {BlockNode} e
 * @param {Extract<RenderContext, { kind: 'view' }>} ctx
 */
function dispatchChanges(field, e, ctx) {
  const text = /** @type {HTMLInputElement | HTMLTextAreaElement} */ (field);
  if (!['plain_text_input', 'email_text_input', 'url_text_input', 'number_input'].includes(e.type)) {
    field.addEventListener('change', () => {
      const value =
        ctx.collect?.()[field.closest('.b-input')?.getAttribute('data-block-id') ?? '']?.[e.action_id ?? ''];
      act(e, /** @type {string | string[] | undefined} */ (value), ctx);
    });
    return;
  }
  const on = e.dispatch_action_config?.trigger_actions_on ?? ['on_enter_pressed'];
  if (on.includes('on_character_entered')) {
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    let pause;
    text.addEventListener('input', () => {
      clearTimeout(pause);
      pause = setTimeout(() => act(e, text.value, ctx), TYPING_PAUSE_MS);
    });
  }
  if (on.includes('on_enter_pressed') && !e.multiline) {
    text.addEventListener('keydown', (event) => {
      if (!(event instanceof KeyboardEvent) || event.key !== 'Enter') return;
      event.preventDefault(); // Enter tells the app; it does not submit the modal
      act(e, text.value, ctx);
    });
  }
}

/**
 * After views.update, Slack keeps what the person entered in every input whose block_id and action_id stayed,
 * including what they typed since the app last heard of it; and the focus stays where it was.
 * @param {HTMLElement} container
 * @param {Record<string, Record<string, string | string[]>>} entered
 */
function keepEntered(container, entered) {
  for (const node of container.querySelectorAll('.b-input')) {
    if (!(node instanceof HTMLElement)) continue;
    const holder = /** @type {HTMLSelectElement | HTMLInputElement | null} */ (node.querySelector('[data-action-id]'));
    const value = entered[node.dataset.blockId ?? '']?.[holder?.dataset.actionId ?? ''];
    if (!holder || value === undefined) continue;
    const values = Array.isArray(value) ? value : [value];
    if (holder.classList.contains('choices')) {
      for (const box of holder.querySelectorAll('input')) box.checked = values.includes(box.value);
    } else if (holder instanceof HTMLSelectElement && holder.multiple) {
      for (const o of holder.options) o.selected = values.includes(o.value);
    } else holder.value = values[0] ?? '';
  }
}

/**
 * state.values for the submit: block_id → action_id → the entered value (string, or strings for multi-choice).
 * @param {HTMLElement} container
 * @returns {Record<string, Record<string, string | string[]>>}
 */
function collectInputs(container) {
  /** @type {Record<string, Record<string, string | string[]>>} */
  const values = {};
  for (const node of container.querySelectorAll('.b-input')) {
    if (!(node instanceof HTMLElement)) continue;
    const blockId = node.dataset.blockId ?? '';
    // The element that holds the value: an input, a textarea, a select, or a group of choices.
    const holder = /** @type {HTMLSelectElement | null} */ (node.querySelector('[data-action-id]'));
    if (!holder) continue;
    const actionId = holder.dataset.actionId ?? '';
    /** @type {string | string[]} */
    let value;
    if (holder.classList.contains('choices')) {
      const chosen = [...holder.querySelectorAll('input:checked')].map(
        (i) => /** @type {HTMLInputElement} */ (i).value,
      );
      value = node.dataset.type === 'checkboxes' ? chosen : (chosen[0] ?? '');
    } else if (holder.multiple) {
      value = [...holder.selectedOptions].map((o) => o.value);
    } else {
      value = holder.value;
    }
    values[blockId] = { [actionId]: value };
  }
  return values;
}

/** @param {SharedFile} file */
function fileChip(file) {
  const isVideo = /^video\//.test(file.mimetype ?? '') || /\.mp4($|\?)/i.test(file.url ?? '');
  // A video plays in a new tab; any other file (an export's CSV) is saved under its own name.
  const link = el('a', {
    class: 'file',
    href: file.url,
    target: '_blank',
    rel: 'noopener',
    download: !isVideo && file.name,
  });
  link.append(el('span', { class: 'icon' }, isVideo ? '▶' : '📄'));
  const label = el('span');
  const kind = isVideo ? 'MP4 video' : (file.mimetype ?? 'File');
  label.append(
    el('div', { class: 'name' }, escapeHtml(file.title || file.name)),
    el('div', { class: 'kind' }, escapeHtml(kind)),
  );
  link.append(label);
  return link;
}

/** @param {string} ts */
function dayLabel(ts) {
  const date = new Date(Number(ts) * 1000);
  /** @param {Date} d */
  const start = (d) => new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
  const diff = Math.round((start(new Date()) - start(date)) / 86_400_000);
  if (diff === 0) return 'Today';
  if (diff === 1) return 'Yesterday';
  return date.toLocaleDateString([], { weekday: 'long', month: 'long', day: 'numeric' });
}

/** @param {string} ts */
const formatTime = (ts) => new Date(Number(ts) * 1000).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });

/**
 * @typedef {object} ListOptions
 * @property {boolean} [thread] in the thread pane
 * @property {HTMLElement} [empty] shown when there is nothing
 * @property {(m: Message) => Message[] | undefined} [repliesOf] a message's thread replies, for its reply count
 */

/**
 * @param {Message} m
 * @param {Message | undefined} previous
 * @param {ListOptions & { flash?: boolean; replies?: Message[] }} opts
 */
function renderMessage(m, previous, opts) {
  const compact =
    previous &&
    previous.user === m.user &&
    !previous.ephemeralTo &&
    !m.ephemeralTo &&
    Number(m.ts) - Number(previous.ts) < 300 &&
    !opts.thread;
  const node = el('div', {
    class: ['message', compact && 'compact', m.ephemeralTo && 'ephemeral'].filter(Boolean).join(' '),
    'data-ts': m.ts,
  });
  const before = app.known.get(m.ts);
  if (opts.flash && (before === undefined || before !== (m.editedTs ?? ''))) node.classList.add('flash');
  app.known.set(m.ts, m.editedTs ?? '');
  node.append(avatar(m.user));
  const body = el('div', { class: 'message-body' });
  const meta = el('div', { class: 'meta' });
  const user = snap().users.find((u) => u.id === m.user);
  meta.append(el('span', { class: 'author' }, escapeHtml(user?.name ?? m.user)));
  if (user?.isBot) meta.append(el('span', { class: 'app-tag' }, 'App'));
  meta.append(el('span', { class: 'time', title: m.ts }, formatTime(m.ts)));
  if (m.editedTs) meta.append(el('span', { class: 'edited', title: `edited ${formatTime(m.editedTs)}` }, '(edited)'));
  body.append(meta);
  if (m.ephemeralTo) body.append(el('div', { class: 'only-you' }, '👁 Only visible to you'));
  if (m.blocks?.length) body.append(renderBlocks(m.blocks, { kind: 'message', channel: m.channel, ts: m.ts }));
  else if (m.text) body.append(el('div', { class: 'text' }, mrkdwn(m.text)));
  for (const f of m.files ?? []) {
    if (/^image\//.test(f.mimetype ?? '')) {
      const figure = el('a', { class: 'file-image', href: f.url, target: '_blank', rel: 'noopener', title: f.title });
      figure.append(el('img', { src: f.url, alt: f.title }));
      body.append(figure);
    } else if (/^video\//.test(f.mimetype ?? '')) {
      // An uploaded video plays inline, as in Slack.
      body.append(el('video', { class: 'file-video', src: f.url, controls: '', preload: 'metadata', title: f.title }));
    } else body.append(fileChip(f));
  }
  for (const link of videoLinks(m)) body.append(videoCard(link));
  if (!m.ephemeralTo && snap().shortcuts.length) node.append(shortcutMenu(m));
  if (opts.replies) {
    const button = el('button', { class: 'replies', onclick: () => openThread(m.ts) });
    const people = [...new Set(opts.replies.map((r) => r.user))].slice(0, 3);
    for (const p of people) button.append(avatar(p, true));
    button.append(document.createTextNode(`${opts.replies.length} ${opts.replies.length === 1 ? 'reply' : 'replies'}`));
    body.append(button);
  }
  node.append(body);
  return node;
}

/**
 * The message's "More actions" menu: the app's message shortcuts, as Slack lists them.
 * @param {Message} m
 */
function shortcutMenu(m) {
  const holder = el('div', { class: 'more-actions' });
  const menu = el('div', { class: 'more-menu', hidden: true });
  for (const s of snap().shortcuts) {
    const send = () => post('/ui/shortcut', { channel: m.channel, ts: m.ts, callbackId: s.callbackId });
    menu.append(
      el(
        'button',
        {
          type: 'button',
          'data-callback-id': s.callbackId,
          onclick: () => {
            menu.hidden = true;
            send();
          },
        },
        escapeHtml(s.name),
      ),
    );
  }
  holder.append(
    el(
      'button',
      { type: 'button', class: 'more', title: 'More actions', onclick: () => (menu.hidden = !menu.hidden) },
      '⋯',
    ),
    menu,
  );
  return holder;
}

/** @param {{ url: string; label: string }} link */
function videoCard(link) {
  const card = el('a', { class: 'video-card', href: link.url, target: '_blank', rel: 'noopener', title: link.url });
  card.append(el('span', { class: 'play', 'aria-hidden': 'true' }, '▶'));
  card.append(el('span', { class: 'caption' }, `${escapeHtml(link.label)} · MP4 from Kling`));
  return card;
}

/**
 * Slack unfurls video links; the page shows a video chip for each .mp4 link in a message.
 * @param {Message} m
 */
function videoLinks(m) {
  const text = [m.text, ...(m.blocks ?? []).map((b) => JSON.stringify(b))].join(' ');
  /** @type {Map<string, { url: string; label: string }>} */
  const links = new Map();
  for (const [, url = '', label] of text.matchAll(/<(https?:\/\/[^|>\s"]+\.mp4)(?:\|([^>]*))?>/g)) {
    if (!links.has(url)) links.set(url, { url, label: decodeSlack(label || 'Video') });
  }
  return [...links.values()];
}

/**
 * @param {HTMLElement} container
 * @param {Message[]} list
 * @param {string} key
 * @param {ListOptions} opts
 */
function renderList(container, list, key, opts) {
  // A reply to an unchanged message changes its reply count: that is a change to render too.
  const { repliesOf } = opts;
  const shown = JSON.stringify(repliesOf ? list.map((m) => [m, repliesOf(m)?.length]) : list) + app.userId;
  if (app.renderedKeys[key] === shown) return;
  const firstRender = app.renderedKeys[key] === undefined;
  app.renderedKeys[key] = shown;
  const atBottom = container.scrollHeight - container.scrollTop - container.clientHeight < 80;
  const scrollTop = container.scrollTop;
  container.innerHTML = '';
  if (list.length === 0 && opts.empty) container.append(opts.empty);
  let previous;
  for (const m of list) {
    const day = dayLabel(m.ts);
    const newDay = !previous || day !== dayLabel(previous.ts);
    if (newDay && !opts.thread)
      container.append(el('div', { class: 'day-divider' }, `<span>${escapeHtml(day)}</span>`));
    container.append(
      renderMessage(m, newDay ? undefined : previous, { ...opts, flash: !firstRender, replies: opts.repliesOf?.(m) }),
    );
    previous = m;
  }
  container.scrollTop = firstRender || atBottom ? container.scrollHeight : scrollTop;
}

function renderConversation() {
  const isHome = app.place?.kind === 'app' && app.place.tab === 'home';
  $('#messages').hidden = isHome;
  $('#composer').hidden = isHome || readOnlyHere();
  $('#read-only').hidden = isHome || !readOnlyHere();
  $('#home').hidden = !isHome;
  if (isHome) return renderHome();
  const channelId = currentChannelId();
  const all = snap().messages[channelId ?? ''] ?? [];
  const top = all.filter((m) => !m.threadTs || m.replyBroadcast);
  const c = snap().conversations.find((x) => x.id === channelId);
  const empty = el(
    'div',
    { class: 'empty' },
    c?.kind === 'channel'
      ? `<strong>This is the very beginning of #${escapeHtml(c.name)}</strong>Type <code>/kling help</code> below to see what the bot can do.`
      : readOnlyHere()
        ? '<strong>Kling</strong>Messages from the app appear here.'
        : '<strong>Kling</strong>Commands you type here stay between you and the app.',
  );
  renderList($('#messages'), top, `main-${channelId}`, {
    empty,
    repliesOf: (m) => {
      const replies = all.filter((r) => r.threadTs === m.ts);
      return replies.length ? replies : undefined;
    },
  });
  $input('#composer-input').placeholder = c?.kind === 'channel' ? `Message #${c.name}` : 'Message Kling';
  if (channelId) markSeen(channelId);
}

function renderHome() {
  const home = snap().home;
  const container = $('#home');
  const key = home ? home.view.hash : 'none';
  if (container.dataset.key === key) return;
  container.dataset.key = key;
  container.innerHTML = '';
  if (!home) {
    container.append(
      el(
        'div',
        { class: 'empty' },
        '<strong>Opening Home…</strong>The app publishes this tab when you open it; if nothing appears, it has no Home tab yet.',
      ),
    );
    return;
  }
  /** @type {RenderContext} */
  const ctx = {
    kind: 'view',
    viewId: home.id,
    state: home.view.state?.values,
    collect: () => collectInputs(container),
  };
  container.append(renderBlocks(home.view.blocks, ctx));
}

/** @param {string} ts */
function openThread(ts) {
  app.threadTs = ts;
  delete app.renderedKeys.thread;
  render();
  $input('#thread-input').focus();
}

function renderThread() {
  const pane = $('#thread');
  const channelId = currentChannelId();
  const all = snap().messages[channelId ?? ''] ?? [];
  const parent = app.threadTs ? all.find((m) => m.ts === app.threadTs) : undefined;
  pane.hidden = !parent || (app.place?.kind === 'app' && app.place.tab === 'home');
  if (!parent || pane.hidden) return;
  $('#thread-channel').textContent = app.place?.kind === 'channel' ? `#${channelName(channelId ?? '')}` : 'Kling';
  $('#thread-composer').hidden = readOnlyHere();
  const replies = all.filter((m) => m.threadTs === parent.ts);
  const container = $('#thread-messages');
  renderList(container, [parent, ...replies], `thread-${parent.ts}`, { thread: true });
  const first = container.querySelector('.message');
  if (first && !container.querySelector('.thread-divider')) {
    first.after(
      el('div', { class: 'thread-divider' }, `${replies.length} ${replies.length === 1 ? 'reply' : 'replies'}`),
    );
  }
}

function renderModal() {
  const modal = snap().modal;
  const backdrop = $('#modal-backdrop');
  const form = $('#modal');
  const key = modal ? `${modal.id}:${modal.view.hash}:${JSON.stringify(modal.errors)}` : null;
  if (key === app.modalKey) return;
  app.modalKey = key;
  backdrop.hidden = !modal;
  if (!modal) {
    form.innerHTML = '';
    return;
  }
  const view = modal.view;
  // The same modal, updated by the app: what the person entered, and where they were typing, stay.
  const sameModal = form.dataset.viewId === modal.id;
  const oldBody = /** @type {HTMLElement | null} */ (form.querySelector('.modal-body'));
  const entered = sameModal && oldBody ? collectInputs(oldBody) : undefined;
  const focused =
    document.activeElement instanceof HTMLElement && form.contains(document.activeElement)
      ? document.activeElement
      : undefined;
  const focusedBlock = focused?.closest('.b-input')?.getAttribute('data-block-id');
  const caret =
    focused instanceof HTMLInputElement || focused instanceof HTMLTextAreaElement ? focused.selectionStart : null;
  form.innerHTML = '';
  form.dataset.viewId = modal.id;
  form.dataset.callbackId = view.callback_id;
  const head = el('div', { class: 'modal-head' });
  head.append(avatar(snap().botUserId), el('h2', {}, textHtml(view.title)));
  head.append(
    el(
      'button',
      { type: 'button', class: 'icon-button', 'aria-label': 'Close', onclick: () => closeModal(modal.id) },
      '✕',
    ),
  );
  const body = el('div', { class: 'modal-body' });
  if (modal.errors._) body.append(el('div', { class: 'modal-error' }, escapeHtml(modal.errors._)));
  /** @type {RenderContext} */
  const ctx = {
    kind: 'view',
    viewId: modal.id,
    state: view.state?.values,
    errors: modal.errors,
    collect: () => collectInputs(body),
  };
  body.append(renderBlocks(view.blocks, ctx));
  const foot = el('div', { class: 'modal-foot' });
  foot.append(
    el(
      'button',
      { type: 'button', class: 'btn', onclick: () => closeModal(modal.id) },
      textHtml(view.close ?? { type: 'plain_text', text: 'Cancel' }),
    ),
  );
  if (view.submit)
    foot.append(el('button', { type: 'submit', class: 'btn primary', 'data-submit': 'true' }, textHtml(view.submit)));
  form.append(head, body, foot);
  form.onsubmit = async (event) => {
    event.preventDefault();
    const values = collectInputs(body);
    // Like Slack's client: required inputs must be filled before anything is sent.
    let missing = false;
    for (const node of body.querySelectorAll('.b-input')) {
      if (!(node instanceof HTMLElement)) continue;
      const v = Object.values(values[node.dataset.blockId ?? ''] ?? {})[0];
      const empty = v === undefined || v === '' || (Array.isArray(v) && v.length === 0);
      node.querySelector('.error.required')?.remove();
      if (empty && node.dataset.optional !== 'true') {
        missing = true;
        node.classList.add('invalid');
        node.append(el('div', { class: 'error required' }, 'Please complete this required field.'));
      }
    }
    if (missing) return;
    const submit = /** @type {HTMLButtonElement | null} */ (form.querySelector('[data-submit]'));
    if (submit) submit.disabled = true;
    await post('/ui/submit', { viewId: modal.id, values });
    if (submit) submit.disabled = false;
  };
  if (entered) keepEntered(body, entered);
  const refocus = /** @type {HTMLElement | null} */ (
    (focusedBlock && body.querySelector(`.b-input[data-block-id="${CSS.escape(focusedBlock)}"] [data-action-id]`)) ||
      body.querySelector('input, textarea, select')
  );
  setTimeout(() => {
    refocus?.focus();
    if (caret !== null && (refocus instanceof HTMLInputElement || refocus instanceof HTMLTextAreaElement))
      refocus.setSelectionRange(caret, caret);
  }, 0);
}

/** @param {string} viewId */
async function closeModal(viewId) {
  await post('/ui/close', { viewId });
}

/**
 * A button's confirm object, asked in a small dialog of our own.
 * @param {Confirm} confirm
 * @returns {Promise<boolean>}
 */
function confirmDialog(confirm) {
  return new Promise((resolve) => {
    const backdrop = el('div', { class: 'modal-backdrop' });
    const box = el('div', { class: 'modal', role: 'dialog' });
    const head = el('div', { class: 'modal-head' });
    head.append(el('h2', {}, textHtml(confirm.title ?? { type: 'plain_text', text: 'Are you sure?' })));
    const body = el('div', { class: 'modal-body' }, `<div class="text">${textHtml(confirm.text)}</div>`);
    const foot = el('div', { class: 'modal-foot' });
    /** @param {boolean} answer */
    const done = (answer) => {
      backdrop.remove();
      resolve(answer);
    };
    foot.append(
      el(
        'button',
        { type: 'button', class: 'btn', onclick: () => done(false) },
        textHtml(confirm.deny ?? { type: 'plain_text', text: 'Cancel' }),
      ),
      el(
        'button',
        {
          type: 'button',
          class: `btn ${confirm.style === 'danger' ? 'danger' : 'primary'}`,
          'data-confirm': 'true',
          onclick: () => done(true),
        },
        textHtml(confirm.confirm ?? { type: 'plain_text', text: 'Yes' }),
      ),
    );
    box.append(head, body, foot);
    backdrop.append(box);
    document.body.append(backdrop);
  });
}

function render() {
  if (!app.snap?.me) return;
  const place = app.place;
  if (!place || (place.kind === 'channel' && !snap().conversations.some((c) => c.id === place.id))) {
    app.place = { kind: 'channel', id: snap().conversations.find((c) => c.kind === 'channel')?.id };
  }
  rememberFirstLook();
  renderChrome();
  renderHeader();
  renderConversation();
  renderThread();
  renderModal();
}

// ---------------------------------------------------------------------------------------------
// wiring

/**
 * @param {HTMLInputElement} input
 * @param {string | null} [threadTs]
 */
async function sendFrom(input, threadTs) {
  const text = input.value.trim();
  if (!text) return;
  const channel = currentChannelId();
  input.value = '';
  if (text.startsWith('/') && !threadTs) {
    app.history.unshift(text);
    app.historyIndex = -1;
    input.disabled = true;
    await post('/ui/command', { channel, text });
    input.disabled = false;
    input.focus();
  } else {
    await post('/ui/message', { channel, text, threadTs });
  }
}

/** Slack-style suggestions from the app's manifest while the person types the command itself. */
function matchingCommands() {
  const typed = /^(\/\S*)\s?$/.exec($input('#composer-input').value);
  return typed ? (app.snap?.commands ?? []).filter((c) => c.command.startsWith(typed[1] ?? '')) : [];
}

function suggestCommands() {
  const box = $('#command-suggestions');
  const list = matchingCommands();
  box.hidden = list.length === 0;
  box.innerHTML = '';
  if (!list.length) return;
  box.append(el('div', { class: 'heading' }, 'Commands from Kling'));
  list.forEach((c, i) => {
    const item = el(
      'button',
      { type: 'button', class: `suggestion${i === 0 ? ' selected' : ''}` },
      `<strong>${escapeHtml(c.command)}</strong><span class="usage">${escapeHtml(c.usageHint ?? '')}</span>${c.description ? `<div class="desc">${escapeHtml(c.description)}</div>` : ''}`,
    );
    item.addEventListener('mousedown', (event) => {
      event.preventDefault();
      $input('#composer-input').value = `${c.command} `;
      suggestCommands();
      $input('#composer-input').focus();
    });
    box.append(item);
  });
}

$input('#composer-input').addEventListener('input', suggestCommands);
$input('#composer-input').addEventListener('blur', () => ($('#command-suggestions').hidden = true));
$input('#composer-input').addEventListener('keydown', (event) => {
  const first = matchingCommands()[0];
  if (event.key === 'Tab' && first && !$('#command-suggestions').hidden) {
    event.preventDefault();
    $input('#composer-input').value = `${first.command} `;
    suggestCommands();
  }
});
$('#composer').addEventListener('submit', (event) => {
  event.preventDefault();
  $('#command-suggestions').hidden = true;
  sendFrom($input('#composer-input'));
});
$('#thread-composer').addEventListener('submit', (event) => {
  event.preventDefault();
  sendFrom($input('#thread-input'), app.threadTs);
});
// An attached image is posted as the person's own message, as Slack does with a file.
$input('#composer-file').addEventListener('change', async () => {
  const picker = $input('#composer-file');
  const file = picker.files?.[0];
  if (!file) return;
  const bytes = new Uint8Array(await file.arrayBuffer());
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  await post('/ui/file', { channel: currentChannelId(), filename: file.name, data: btoa(binary) });
  picker.value = '';
  await refresh();
});
$input('#composer-input').addEventListener('keydown', (event) => {
  // Up/down walk through the commands typed before, like a shell.
  if (event.key !== 'ArrowUp' && event.key !== 'ArrowDown') return;
  const next = app.historyIndex + (event.key === 'ArrowUp' ? 1 : -1);
  if (next < -1 || next >= app.history.length) return;
  app.historyIndex = next;
  $input('#composer-input').value = (next === -1 ? '' : app.history[next]) ?? '';
  event.preventDefault();
});
$('#thread-close').addEventListener('click', () => {
  app.threadTs = null;
  render();
});
$('#user-select').addEventListener('change', (event) => {
  app.userId = /** @type {HTMLSelectElement} */ (event.target).value;
  store.set('kling-demo-user', app.userId);
  app.renderedKeys = {};
  app.modalKey = null;
  app.threadTs = null;
  $('#home').dataset.key = '';
  const url = new URL(location.href);
  url.searchParams.delete('user');
  history.replaceState(null, '', url);
  if (app.place?.kind === 'app' && app.place.tab === 'home') post('/ui/home', {});
  refresh();
});
for (const tab of document.querySelectorAll('#app-tabs .tab')) {
  if (tab instanceof HTMLElement) tab.addEventListener('click', () => go({ kind: 'app', tab: tab.dataset.tab }));
}
document.addEventListener('keydown', (event) => {
  if (event.key === 'Escape' && app.snap?.modal) closeModal(app.snap.modal.id);
});

(async function start() {
  const res = await fetch('/ui/state');
  const first = await res.json();
  if (!first.people.includes(app.userId)) app.userId = first.people[0];
  store.set('kling-demo-user', app.userId);
  await refresh();
  if (app.place?.kind === 'app' && app.place.tab === 'home') post('/ui/home', {});
  listen();
})();
