// The demo page: phones side by side, a café and the ledger, each acting
// through bankd's public API as one user (the demo tokens), plus the demo
// endpoints /v1/demo/clock and /v1/demo/ledger. The group chat, in which
// red packets and their greetings travel, is this page's: bankd moves the
// money, a bank's chat service carries the messages.

import { client, newKey, minor, major, cny, Problem } from './api.js';
import { TEXTS, PEOPLE } from './i18n.js';

const USERS = [
  { handle: 'alice', token: 'alice-token', realName: '李爱丽', phone: '13900139000' },
  { handle: 'bob', token: 'bob-token', realName: '张三', phone: '13800138000' },
  { handle: 'carol', token: 'carol-token', realName: '韩梅梅', phone: '13700137000' },
  { handle: 'dave', token: 'dave-token', realName: '王大卫', phone: '13600136000' },
];
const SHOP = { handle: 'shop', token: 'shop-token' };
const EVERYONE = [...USERS, SHOP];
for (const u of EVERYONE) u.api = client(u.token);
const bank = USERS[0].api; // who asks the demo endpoints

const state = {
  group: null,
  packets: new Map(), // id → {view, greeting, sender, outcomes: Map(handle → {key, args})}
  byWallet: new Map(), // wallet ID → handle
  byUser: new Map(), // user ID → handle
  skew: 0, // bank time − this browser's time, in ms
  scanning: null, // {by, kind, pick, back}
  ledgerSeq: 0,
};

// --- Language

let lang = (() => {
  const q = new URLSearchParams(location.search).get('lang');
  if (q === 'zh' || q === 'en') return q;
  return (navigator.language || '').toLowerCase().startsWith('zh') ? 'zh' : 'en';
})();

const money = (a) => (a.startsWith('-') ? '-¥' + a.slice(1) : '¥' + a);
const helpers = {
  name: (h) => (PEOPLE[h] ? PEOPLE[h][lang] : h),
  money,
  signed: (a) => (a.startsWith('-') ? '−¥' + a.slice(1) : '+¥' + a),
  time: (iso) => new Intl.DateTimeFormat(lang === 'zh' ? 'zh-CN' : 'en-GB', {
    month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit',
  }).format(new Date(iso)),
  acct: (d) => (d.h ? helpers.name(d.h) : t(d.k) + (d.s ? ' ' + d.s : '')),
  t: (k, a) => t(k, a),
};

function t(key, args = {}) {
  const v = TEXTS[lang][key] ?? TEXTS.en[key] ?? key;
  return typeof v === 'function' ? v(args, helpers) : v;
}

const argsOf = (el, name) => (el.dataset[name] ? JSON.parse(el.dataset[name]) : undefined);

// say sets an element's text from a key and its arguments, remembered so
// that a switch of language says it again.
function say(el, key, args) {
  el.dataset.i18n = key;
  if (args) el.dataset.i18nArgs = JSON.stringify(args);
  else delete el.dataset.i18nArgs;
  el.textContent = t(key, args);
}

// hush empties an element that say may have filled.
function hush(el) {
  delete el.dataset.i18n;
  delete el.dataset.i18nArgs;
  el.textContent = '';
}

function label(el, key, args) {
  el.dataset.i18nLabel = key;
  if (args) el.dataset.i18nLabelArgs = JSON.stringify(args);
  el.setAttribute('aria-label', t(key, args));
}

function applyLang(root = document) {
  document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n, argsOf(el, 'i18nArgs'));
  for (const el of root.querySelectorAll('[data-i18n-label]')) el.setAttribute('aria-label', t(el.dataset.i18nLabel, argsOf(el, 'i18nLabelArgs')));
  for (const el of root.querySelectorAll('[data-i18n-alt]')) el.alt = t(el.dataset.i18nAlt, argsOf(el, 'i18nAltArgs'));
  const sw = document.getElementById('lang');
  if (sw) sw.lang = lang === 'zh' ? 'en' : 'zh-CN';
  document.title = t('title');
  showClock();
}

// --- Acting: every handler shows a refusal next to what the user did.

function showProblem(el, e) {
  if (!(e instanceof Problem)) throw e; // a bug: let it surface
  if (TEXTS.en['e_' + e.code]) say(el, 'e_' + e.code);
  else say(el, 'err', { detail: e.message });
}

function act(el, problemEl, fn) {
  return async (ev) => {
    ev?.preventDefault?.();
    if (el.dataset.busy) return;
    el.dataset.busy = '1';
    el.setAttribute('aria-busy', 'true');
    if (problemEl) hush(problemEl);
    try {
      await fn(ev);
    } catch (e) {
      if (!problemEl) throw e;
      showProblem(problemEl, e);
    } finally {
      delete el.dataset.busy;
      el.removeAttribute('aria-busy');
    }
  };
}

// intentKey is the Idempotency-Key of what a form asks: the same until it
// succeeds or its fields change, so that pressing again after a lost
// answer pays once.
function intentKey(form, prefix) {
  if (!form.dataset.key) form.dataset.key = newKey(prefix);
  return form.dataset.key;
}
const done = (form) => delete form.dataset.key;

// --- Phones

const $ = (root, sel) => root.querySelector(sel);

function buildPhone(u) {
  const el = document.getElementById('phone-template').content.firstElementChild.cloneNode(true);
  u.el = el;
  el.dataset.user = u.handle;
  el.id = 'phone-' + u.handle;
  const who = $(el, '.who');
  who.id = 'who-' + u.handle;
  el.setAttribute('aria-labelledby', who.id);
  const nm = document.createElement('span');
  say(nm, 'phoneOf', { who: u.handle });
  const sub = document.createElement('small');
  sub.textContent = ' ' + u.realName;
  who.append(nm, sub);

  // Screens.
  for (const b of el.querySelectorAll('.tabs button')) {
    b.addEventListener('click', () => showTab(u, b.dataset.tab));
  }

  // Red packets.
  const send = $(el, '.send-packet');
  send.greeting.value = t('greetingDefault');
  send.addEventListener('input', () => done(send));
  send.addEventListener('submit', act(send, $(send, '.problem'), () => sendPacket(u, send)));

  // Phone payments.
  const lookup = $(el, '.lookup');
  const confirm = $(el, '.confirm');
  lookup.addEventListener('submit', act(lookup, $(lookup, '.problem'), () => resolvePhone(u, lookup, confirm)));
  confirm.addEventListener('input', () => done(confirm));
  confirm.addEventListener('submit', act(confirm, $(confirm, '.problem'), () => payPhone(u, lookup, confirm)));
  $(confirm, '.back').addEventListener('click', () => {
    confirm.hidden = true;
    lookup.phone.focus();
  });

  // Codes.
  const codes = $(el, '[data-panel=codes]');
  const scanProblem = $(codes, '.scan .problem');
  $(codes, '.show-receive').addEventListener('click', act($(codes, '.show-receive'), scanProblem, () => showReceive(u)));
  $(codes, '.show-paycode').addEventListener('click', act($(codes, '.show-paycode'), scanProblem, () => showPaycode(u)));
  $(codes, '.scan-button').addEventListener('click', () => startScan(u, 'receive', $(codes, '.scan-button'), scanProblem,
    (target) => previewCode(u, target.dataset.payload)));
  for (const target of codes.querySelectorAll('.qr-target, .code-target')) {
    target.addEventListener('click', () => pick(target));
  }
  const qrPay = $(codes, '.qr-pay');
  qrPay.addEventListener('input', () => done(qrPay));
  qrPay.addEventListener('submit', act(qrPay, scanProblem, () => payCode(u, qrPay)));
  $(qrPay, '.back').addEventListener('click', () => {
    qrPay.hidden = true;
    $(codes, '.scan-button').focus();
  });
  u.receipts = new Map();
  return el;
}

function showTab(u, tab) {
  for (const b of u.el.querySelectorAll('.tabs button')) b.setAttribute('aria-pressed', String(b.dataset.tab === tab));
  for (const p of u.el.querySelectorAll('[data-panel]')) p.hidden = p.dataset.panel !== tab;
}

// --- Red packets

async function sendPacket(u, form) {
  const p = await u.api.post('/v1/redpackets', {
    kind: 'lucky', group_id: state.group, amount: cny(form.amount.value), count: Number(form.count.value),
  }, { key: intentKey(form, 'packet') });
  done(form);
  if (!state.packets.has(p.id)) {
    state.packets.set(p.id, { view: p, greeting: form.greeting.value.trim() || t('greetingDefault'), sender: u.handle, outcomes: new Map() });
    keepChat();
  }
  await Promise.all([refreshPacket(p.id, u.api), refreshBalances()]);
  refreshLedger();
}

// The chat is this page's; it keeps the packets' messages for a reload
// (the tab's session storage), and bankd has the rest.
const CHAT = 'socialpay-demo-chat';

function keepChat() {
  const msgs = [...state.packets].map(([id, pk]) => ({ id, greeting: pk.greeting, sender: pk.sender }));
  try {
    sessionStorage.setItem(CHAT, JSON.stringify(msgs));
  } catch {
    // storage refused (private mode): the chat lasts until a reload
  }
}

async function restoreChat() {
  let msgs = [];
  try {
    msgs = JSON.parse(sessionStorage.getItem(CHAT) || '[]');
  } catch {
    return;
  }
  for (const m of msgs) {
    const sender = USERS.find((u) => u.handle === m.sender);
    if (!sender || typeof m.id !== 'string') continue;
    try {
      const view = await sender.api.get(`/v1/redpackets/${encodeURIComponent(m.id)}`);
      state.packets.set(view.id, { view, greeting: String(m.greeting), sender: sender.handle, outcomes: new Map() });
      for (const u of USERS) renderPacket(u, view.id);
    } catch (e) {
      if (!(e instanceof Problem)) throw e; // a bankd restarted since: the packet is gone
    }
  }
  keepChat();
}

async function grab(u, id) {
  const pk = state.packets.get(id);
  try {
    const c = await u.api.post(`/v1/redpackets/${id}/claims`);
    pk.outcomes.set(u.handle, { key: 'youGot', args: { amount: c.amount.amount } });
  } catch (e) {
    if (!(e instanceof Problem)) throw e;
    const key = { sold_out: 'soldOut', packet_expired: 'expired', packet_refunded: 'expired' }[e.code];
    pk.outcomes.set(u.handle, key ? { key } : TEXTS.en['e_' + e.code] ? { key: 'e_' + e.code } : { key: 'err', args: { detail: e.message } });
  }
  await Promise.all([refreshPacket(id, u.api), refreshBalances()]);
  refreshLedger();
}

async function refreshPacket(id, api) {
  const pk = state.packets.get(id);
  pk.view = await api.get(`/v1/redpackets/${id}`);
  for (const u of USERS) renderPacket(u, id);
}

const CROWN = '<svg viewBox="0 0 24 24" aria-hidden="true" focusable="false"><path d="M3 7l4.5 4L12 4l4.5 7L21 7l-2 12H5z"/></svg>';

function renderPacket(u, id) {
  const pk = state.packets.get(id);
  const v = pk.view;
  const list = $(u.el, '.messages');
  let li = list.querySelector(`[data-packet="${id}"]`);
  if (!li) {
    li = document.createElement('li');
    li.className = 'msg';
    li.dataset.packet = id;
    li.innerHTML = '<p class="from"></p><div class="card"><p class="greeting"></p><p class="meta"></p>' +
      '<button type="button" class="grab"></button><p class="outcome" role="status"></p></div>' +
      '<ul class="claims"></ul><p class="state"></p>';
    $(li, '.grab').addEventListener('click', act($(li, '.grab'), null, () => grab(u, id)));
    list.querySelector('.empty')?.remove();
    list.append(li);
  }
  say($(li, '.from'), 'packetFrom', { who: pk.sender });
  $(li, '.greeting').textContent = pk.greeting;
  say($(li, '.meta'), 'packetMeta', { total: v.total.amount, count: v.count });
  const claimed = (v.claims || []).find((c) => c.user === u.id);
  const mine = pk.outcomes.get(u.handle) || (claimed && { key: 'youGot', args: { amount: claimed.amount.amount } });
  const btn = $(li, '.grab');
  say(btn, mine ? 'grabAgain' : 'grab');
  label(btn, 'grabLabel', { who: pk.sender });
  const out = $(li, '.outcome');
  if (mine) say(out, mine.key, mine.args);
  else hush(out);
  li.dataset.status = v.status;

  // The shares, once this phone has looked or the packet is done.
  const claims = $(li, '.claims');
  claims.replaceChildren();
  if (mine || pk.sender === u.handle || v.status !== 'open') {
    (v.claims || []).forEach((c, i) => {
      const who = state.byUser.get(c.user) || c.user.slice(0, 8);
      const row = document.createElement('li');
      row.dataset.user = who;
      row.dataset.amount = c.amount.amount;
      const name = document.createElement('span');
      say(name, 'who', { who });
      const right = document.createElement('span');
      if (v.best_luck === i) {
        row.classList.add('best');
        const crown = document.createElement('span');
        crown.className = 'crown';
        crown.innerHTML = CROWN;
        const tx = document.createElement('span');
        say(tx, 'bestLuck');
        crown.append(tx);
        right.append(crown, ' ');
      }
      const amt = document.createElement('span');
      amt.className = 'amt';
      amt.textContent = money(c.amount.amount);
      right.append(amt);
      row.append(name, right);
      claims.append(row);
    });
  }
  const st = $(li, '.state');
  if (v.status === 'refunded' && v.refund) say(st, 'refunded', { refund: v.refund.amount, who: pk.sender });
  else if (v.status === 'sold_out') say(st, 'allGrabbed', { count: v.count });
  else if (v.remaining) say(st, 'grabbedCount', { claimed: v.claimed, count: v.count, remaining: v.remaining.amount });
}

// --- Phone payments

async function resolvePhone(u, lookup, confirm) {
  const r = await u.api.post('/v1/phone/resolve', { phone: lookup.phone.value.trim() });
  u.resolution = r;
  $(confirm, '.masked').textContent = r.masked_name;
  $(confirm, '.institution').textContent = r.institution ? '· ' + r.institution : '';
  hush($(confirm, '.problem'));
  done(confirm);
  confirm.hidden = false;
  confirm.amount.focus();
}

async function payPhone(u, lookup, confirm) {
  const r = u.resolution;
  const rec = await u.api.post('/v1/transfers', {
    token: r.token, amount: cny(confirm.amount.value), arrival: confirm.arrival.value,
  }, { key: intentKey(confirm, 'transfer') });
  done(confirm);
  rec.payee = r.masked_name;
  u.receipts.set(rec.id, rec);
  confirm.hidden = true;
  renderReceipts(u);
  lookup.phone.focus();
  await refreshBalances();
  refreshLedger();
}

function renderReceipts(u) {
  const ol = $(u.el, '.receipts');
  for (const rec of u.receipts.values()) {
    let li = ol.querySelector(`[data-transfer="${rec.id}"]`);
    if (!li) {
      li = document.createElement('li');
      li.dataset.transfer = rec.id;
      li.innerHTML = '<span class="what"></span><span class="sub"></span>';
      ol.prepend(li);
    }
    li.dataset.state = rec.state;
    say($(li, '.what'), 'receipt', { amount: rec.amount.amount, payee: rec.payee, state: rec.state });
    $(li, '.what').className = 'what' + (rec.state === 'settled' ? ' ok' : '');
    const sub = $(li, '.sub');
    if (rec.state === 'pending' && rec.due_at) say(sub, 'dueAt', { due: rec.due_at });
    else hush(sub);
    let cancel = $(li, '.cancel');
    if (rec.state === 'pending' && !cancel) {
      cancel = document.createElement('button');
      cancel.type = 'button';
      cancel.className = 'cancel';
      say(cancel, 'cancel');
      label(cancel, 'cancelTransfer', { amount: rec.amount.amount, payee: rec.payee });
      const problem = document.createElement('p');
      problem.className = 'problem';
      problem.setAttribute('role', 'alert');
      cancel.addEventListener('click', act(cancel, problem, () => cancelTransfer(u, rec.id)));
      li.append(cancel, problem);
    } else if (rec.state !== 'pending' && cancel) {
      const back = $(u.el, '.lookup').phone;
      if (document.activeElement === cancel) back.focus();
      cancel.remove();
    }
  }
}

async function cancelTransfer(u, id) {
  const rec = await u.api.post(`/v1/transfers/${id}/cancel`);
  rec.payee = u.receipts.get(id).payee;
  u.receipts.set(id, rec);
  renderReceipts(u);
  await refreshBalances();
  refreshLedger();
}

async function refreshReceipts(u) {
  for (const [id, old] of u.receipts) {
    if (old.state !== 'pending') continue;
    const rec = await u.api.get(`/v1/transfers/${id}`);
    rec.payee = old.payee;
    u.receipts.set(id, rec);
  }
  renderReceipts(u);
}

// --- Receive codes, payment codes, scanning

async function showReceive(u) {
  const body = { phone: u.e164 };
  // A static code is the same every time it is issued: its text is what
  // the image holds, and what a scanning phone reads.
  const code = await u.api.post('/v1/receive-codes', body);
  const png = await u.api.post('/v1/receive-codes', body, { accept: 'image/png' });
  const target = $(u.el, '.qr-target');
  const img = $(target, 'img');
  if (img.src) URL.revokeObjectURL(img.src);
  img.src = URL.createObjectURL(png);
  img.dataset.i18nAlt = 'receiveAlt';
  img.dataset.i18nAltArgs = JSON.stringify({ who: u.handle });
  img.alt = t('receiveAlt', { who: u.handle });
  target.dataset.payload = code.payload;
  target.dataset.owner = u.handle;
  target.hidden = false;
}

async function showPaycode(u) {
  if (!u.device) u.device = await u.api.post('/v1/devices', undefined, { key: newKey('device') });
  await refreshPaycode(u);
  if (!u.paycodeTimer) u.paycodeTimer = setInterval(() => paycodeTick(u), 1000);
}

// A payment code lives for one minute of the bank's clock: the phone
// shows the next one when that minute ends.
function paycodeTick(u) {
  const left = Math.ceil((u.paycodeNext - (Date.now() + state.skew)) / 1000);
  if (left <= 0) {
    if (!u.paycodeLoading) refreshPaycode(u).catch((e) => showProblem($(u.el, '.scan .problem'), e));
    return;
  }
  const target = $(u.el, '.code-target');
  say($(u.el, '.paycode .refresh'), target.dataset.used ? 'codeUsed' : 'refreshesIn', { s: left });
}

// refreshPaycode shows the code the phone's device makes now (a phone
// derives it offline; bankd's /v1/payment-codes stands in for that).
async function refreshPaycode(u) {
  if (!u.device) return;
  u.paycodeLoading = true;
  try {
    const { code } = await u.api.post('/v1/payment-codes', { serial: u.device.serial, secret: u.device.secret });
    const now = Date.now() + state.skew;
    u.paycodeNext = now - (now % 60000) + 60000 + 500;
    const target = $(u.el, '.code-target');
    target.dataset.code = code;
    target.dataset.owner = u.handle;
    delete target.dataset.used;
    $(target, '.digits').textContent = code.replace(/^(\d{2})(\d{4})(\d{4})(\d{4})(\d{4})$/, '$1 $2 $3 $4 $5');
    label(target, 'payCodeLabel', { who: u.handle, code });
    target.hidden = false;
    $(u.el, '.paycode .refresh').hidden = false;
    paycodeTick(u);
  } finally {
    u.paycodeLoading = false;
  }
}

// startScan lets one phone (or the shop) choose a code on another phone:
// clicking it stands for pointing the camera at it.
function startScan(u, kind, back, problemEl, onPick) {
  stopScan();
  hush(problemEl);
  const sel = kind === 'receive' ? '.qr-target' : '.code-target';
  const targets = [...document.querySelectorAll(sel)].filter((b) => !b.hidden && b.dataset.owner && b.dataset.owner !== u.handle);
  if (!targets.length) {
    say(problemEl, 'scanNone');
    return;
  }
  state.scanning = { by: u.handle, targets, back, onPick, problemEl };
  document.body.classList.add('scanning');
  for (const b of targets) b.disabled = false;
  const banner = document.getElementById('scan-banner');
  say(document.getElementById('scan-text'), 'scanning', { who: u.handle });
  banner.hidden = false;
  targets[0].focus();
}

function stopScan() {
  const s = state.scanning;
  if (!s) return null;
  state.scanning = null;
  for (const b of s.targets) b.disabled = true;
  document.body.classList.remove('scanning');
  document.getElementById('scan-banner').hidden = true;
  return s;
}

function pick(target) {
  const s = stopScan();
  if (!s) return;
  s.back.focus();
  act(s.back, s.problemEl, () => s.onPick(target))();
}

async function previewCode(u, payload) {
  const q = await u.api.post('/v1/qr/preview', { payload });
  const form = $(u.el, '.qr-pay');
  u.quote = { payload, q };
  say($(form, '.payee'), 'payTo', { payee: q.payee_name });
  if (q.amount) {
    form.amount.value = q.amount.amount;
    form.amount.readOnly = true;
  } else {
    form.amount.readOnly = false;
  }
  done(form);
  form.hidden = false;
  form.amount.focus();
}

async function payCode(u, form) {
  const { payload, q } = u.quote;
  const body = { payload, confirm: q.confirm };
  if (!q.amount) body.amount = cny(form.amount.value);
  const rec = await u.api.post('/v1/qr/payments', body, { key: intentKey(form, 'qr') });
  done(form);
  form.hidden = true;
  const li = document.createElement('li');
  li.dataset.payment = rec.id;
  li.dataset.amount = rec.amount.amount;
  const what = document.createElement('span');
  what.className = 'ok';
  say(what, 'paid', { amount: rec.amount.amount, payee: rec.payee_name });
  li.append(what);
  $(u.el, '.payments').prepend(li);
  $(u.el, '.scan-button').focus();
  await refreshBalances();
  refreshLedger();
}

// --- The shop

function buildShop() {
  const el = document.getElementById('shop');
  SHOP.el = el;
  el.dataset.user = 'shop';
  const form = $(el, '.charge');
  const problem = $(form, '.problem');
  form.addEventListener('input', () => done(form));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    startScan(SHOP, 'paycode', $(form, 'button[type=submit]'), problem, (target) => charge(form, target));
  });
}

async function charge(form, target) {
  const rec = await SHOP.api.post('/v1/qr/charges', { code: target.dataset.code, amount: cny(form.amount.value) },
    { key: intentKey(form, 'order') });
  done(form);
  const who = state.byWallet.get(rec.payer) || target.dataset.owner;
  const li = document.createElement('li');
  li.dataset.charge = rec.transfer_id;
  li.dataset.amount = rec.amount.amount;
  const what = document.createElement('span');
  what.className = 'ok';
  say(what, 'charged', { amount: rec.amount.amount, who });
  li.append(what);
  $(SHOP.el, '.charges').prepend(li);
  // A payment code is used once: the payer's phone says so until the
  // next one.
  target.dataset.used = 'true';
  const payer = USERS.find((u) => u.handle === who);
  if (payer) paycodeTick(payer);
  await refreshBalances();
  refreshLedger();
}

// --- Balances, the ledger, the clock

async function refreshBalances() {
  await Promise.all(EVERYONE.map(async (u) => {
    const w = await u.api.get('/v1/wallet');
    const out = $(u.el, '.balance output');
    out.textContent = money(w.balance.amount);
    out.dataset.amount = w.balance.amount;
  }));
}

function accountLabel(a, escrows) {
  if (a.kind === 'wallet') return { h: a.handle };
  if (a.kind === 'bank') return { k: 'bank' };
  if (!escrows.has(a.id)) escrows.set(a.id, escrows.size + 1);
  return { k: 'escrow', s: '#' + escrows.get(a.id) };
}

async function refreshLedger() {
  const seq = ++state.ledgerSeq;
  const v = await bank.get('/v1/demo/ledger?last=3');
  if (seq !== state.ledgerSeq) return;
  const verify = document.getElementById('verify');
  verify.className = 'verify ' + (v.verify.ok ? 'ok' : 'bad');
  verify.dataset.ok = String(v.verify.ok);
  if (v.verify.ok) say(verify, 'verifyOk', { accounts: v.verify.accounts, entries: v.verify.entries });
  else say(verify, 'verifyBad', { problem: v.verify.problem });

  const escrows = state.escrows || (state.escrows = new Map());
  const labels = new Map(v.accounts.map((a) => [a.id, accountLabel(a, escrows)]));
  const body = $(document, '#accounts tbody');
  body.replaceChildren();
  let sum = 0n;
  for (const a of v.accounts) {
    sum += minor(a.balance.amount);
    const tr = document.createElement('tr');
    tr.dataset.account = a.id;
    tr.dataset.kind = a.kind;
    if (a.handle) tr.dataset.handle = a.handle;
    const th = document.createElement('th');
    th.scope = 'row';
    const nm = document.createElement('span');
    const d = labels.get(a.id);
    say(nm, 'acctLabel', d);
    th.append(nm);
    if (a.last.length) {
      const ul = document.createElement('ul');
      ul.className = 'entries';
      for (const e of a.last) {
        const li = document.createElement('li');
        const amount = e.posted.amount !== '0.00' ? e.posted.amount : e.pending.amount;
        const other = labels.get(e.counterparty) || { k: 'escrow' };
        say(li, 'entry', { amount, kind: e.kind, dir: amount.startsWith('-') ? '→' : '←', other });
        ul.append(li);
      }
      th.append(ul);
    }
    const td = document.createElement('td');
    td.className = 'num';
    td.textContent = money(a.balance.amount);
    td.dataset.amount = a.balance.amount;
    if (a.pending.amount !== '0.00') {
      const held = document.createElement('div');
      held.className = 'kind';
      say(held, 'held', { amount: a.pending.amount });
      td.append(held);
    }
    tr.append(th, td);
    body.append(tr);
  }
  const total = document.getElementById('ledger-total');
  total.textContent = money(major(sum));
  total.dataset.amount = major(sum);
  const unlisted = document.getElementById('unlisted');
  if (v.unlisted) say(unlisted, 'unlisted', { n: v.unlisted });
  else hush(unlisted);
}

function showClock() {
  const el = document.getElementById('clock-now');
  if (!el || !state.clockKnown) return;
  const now = new Date(Date.now() + state.skew);
  el.dateTime = now.toISOString();
  el.textContent = new Intl.DateTimeFormat(lang === 'zh' ? 'zh-CN' : 'en-GB', {
    year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit',
  }).format(now);
}

function setClock(c) {
  state.skew = Date.parse(c.now) - Date.now();
  state.clockKnown = true;
  showClock();
}

async function fastForward(hours) {
  setClock(await bank.post('/v1/demo/clock', { seconds: hours * 3600 }));
  await Promise.all([
    refreshBalances(),
    ...[...state.packets.keys()].map((id) => refreshPacket(id, bank)),
    ...USERS.map(refreshReceipts),
    ...USERS.map(refreshPaycode),
  ]);
  await refreshLedger();
  say(document.getElementById('status'), 'moved', { hours });
}

// --- Start

async function setUp() {
  const stage = document.getElementById('stage');
  stage.prepend(...USERS.map(buildPhone));
  for (const u of USERS) {
    const empty = document.createElement('li');
    empty.className = 'empty';
    say(empty, 'noMessages');
    $(u.el, '.messages').append(empty);
  }
  buildShop();
  applyLang();
  const status = document.getElementById('status');
  document.getElementById('lang').addEventListener('click', () => {
    lang = lang === 'zh' ? 'en' : 'zh';
    applyLang();
  });
  document.getElementById('ff-2h').addEventListener('click', act(document.getElementById('ff-2h'), status, () => fastForward(2)));
  document.getElementById('ff-1d').addEventListener('click', act(document.getElementById('ff-1d'), status, () => fastForward(24)));
  document.getElementById('ledger-refresh').addEventListener('click', act(document.getElementById('ledger-refresh'), status, refreshLedger));
  document.getElementById('scan-cancel').addEventListener('click', () => stopScan()?.back.focus());
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && state.scanning) stopScan().back.focus();
  });
  setInterval(showClock, 10000);

  // The demo bank: wallets with ¥500.00 for the phones, numbers bound,
  // one family group. Each step is idempotent, so a reload repeats none.
  await Promise.all(EVERYONE.map(async (u) => {
    const me = await u.api.get('/v1/me');
    u.id = me.user_id;
    u.wallet = me.wallet_id;
    state.byUser.set(me.user_id, u.handle);
    state.byWallet.set(me.wallet_id, u.handle);
    await u.api.put('/v1/wallet');
  }));
  await Promise.all(USERS.map(async (u) => {
    await u.api.post('/v1/wallet/deposits', { amount: cny('500.00') }, { key: 'demo-topup' });
    const b = await u.api.put('/v1/phone', { phone: u.phone, name: u.realName });
    u.e164 = b.phone;
  }));
  const g = await USERS[0].api.post('/v1/groups', { name: '相亲相爱一家人', members: USERS.slice(1).map((u) => u.id) }, { key: 'demo-group' });
  state.group = g.id;
  await restoreChat();
  setClock(await bank.get('/v1/demo/clock'));
  await Promise.all([refreshBalances(), refreshLedger()]);
  say(status, 'ready');
  document.body.dataset.ready = 'true';
}

setUp().catch((e) => {
  const status = document.getElementById('status');
  if (e instanceof Problem) say(status, 'err', { detail: e.message });
  document.body.dataset.ready = 'error';
  throw e;
});
