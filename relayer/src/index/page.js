// The status page: polls the index's own JSON API and renders it. No dependencies, no external
// assets; every value is set as text, never as HTML.
"use strict";

const POLL_MS = 2000;
const PAGE = 25;
let query = "";          // the current search, as API query parameters
let cursors = [];        // cursors of the older pages shown below the first
let tokens = {};         // main token -> { symbol, decimals }

const $ = (id) => document.getElementById(id);

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

function short(hex) {
  return hex ? hex.slice(0, 10) + "…" + hex.slice(-6) : "—";
}

// an integer amount in the token's smallest units, shown with its decimals
function units(raw, token) {
  if (raw === "unlimited") return "unlimited";
  const info = tokens[(token || "").toLowerCase()];
  if (!info || !/^[0-9]+$/.test(raw)) return raw;
  const d = info.decimals;
  const padded = raw.padStart(d + 1, "0");
  const whole = padded.slice(0, padded.length - d);
  const frac = padded.slice(padded.length - d).replace(/0+$/, "");
  return (frac ? whole + "." + frac : whole) + (info.symbol ? " " + info.symbol : "");
}

async function getJson(path) {
  const response = await fetch(path, { cache: "no-store" });
  const body = await response.json();
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}

function transferRow(t) {
  const tr = el("tr");
  tr.dataset.transferId = t.id;
  tr.appendChild(el("td", t.state, "state state-" + t.state));
  tr.appendChild(el("td", t.direction));
  tr.appendChild(el("td", units(t.amount, t.token)));
  tr.appendChild(el("td", units(t.fee, t.token)));
  tr.appendChild(el("td", short(t.sender), "mono"));
  tr.appendChild(el("td", short(t.recipient), "mono"));
  tr.appendChild(el("td", t.source.chain + " " + short(t.source.txHash), "mono"));
  const dst = t.destination || t.queued;
  tr.appendChild(el("td", dst ? dst.chain + " " + short(dst.txHash) : "—", "mono"));
  tr.appendChild(el("td", t.approvals));
  tr.appendChild(el("td", short(t.id), "mono"));
  tr.title = t.id;
  return tr;
}

async function loadTransfers() {
  let rows = [];
  let next = null;
  const pages = [null].concat(cursors);
  for (const cursor of pages) {
    let path = "/api/transfers?limit=" + PAGE + (query ? "&" + query : "");
    if (cursor) path += "&cursor=" + encodeURIComponent(cursor);
    const page = await getJson(path);
    rows = rows.concat(page.transfers);
    next = page.next_cursor;
  }
  // a 64-digit search that is no transaction may be a transfer id
  if (rows.length === 0 && query.startsWith("tx=")) {
    try {
      rows = [await getJson("/api/transfers/" + query.slice(3))];
    } catch (_) { /* not an id either */ }
  }
  const body = $("transfers");
  body.replaceChildren(...rows.map(transferRow));
  if (rows.length === 0) {
    const tr = el("tr");
    const td = el("td", "no transfers", "muted");
    td.colSpan = 10;
    tr.appendChild(td);
    body.appendChild(tr);
  }
  $("older").hidden = !next;
  $("older").dataset.cursor = next || "";
}

function chainRow(name, c) {
  const tr = el("tr");
  tr.appendChild(el("th", name));
  tr.appendChild(el("td", c.head));
  tr.appendChild(el("td", c.indexedTo === null ? "—" : c.indexedTo));
  tr.appendChild(el("td", c.halted ? "halted: " + c.halted : c.lag + " blocks", c.halted ? "paused" : ""));
  tr.appendChild(el("td", c.paused ? "PAUSED" : "no", c.paused ? "paused" : ""));
  tr.appendChild(el("td", c.validators.length));
  tr.appendChild(el("td", c.threshold));
  tr.appendChild(el("td", c.validatorSetVersion));
  return tr;
}

async function loadOverview() {
  const o = await getJson("/api/overview");
  tokens = {};
  for (const t of o.tokens) tokens[t.token.toLowerCase()] = { symbol: t.symbol, decimals: t.decimals };
  $("chains").replaceChildren(chainRow("main", o.chains.main), chainRow("side", o.chains.side));
  const v = $("validators");
  v.replaceChildren(
    el("div", "main validators: " + o.chains.main.validators.join(", ")),
    el("div", "side validators: " + o.chains.side.validators.join(", ")));
  $("tokens").replaceChildren(...o.tokens.map((t) => {
    const tr = el("tr");
    tr.appendChild(el("td", (t.symbol || "") + " " + short(t.token), "mono"));
    tr.appendChild(el("td", units(t.deposits.outboundLeft, t.token)));
    tr.appendChild(el("td", units(t.deposits.inboundLeft, t.token)));
    tr.appendChild(el("td", units(t.withdrawals.outboundLeft, t.token)));
    tr.appendChild(el("td", units(t.withdrawals.inboundLeft, t.token)));
    tr.appendChild(el("td", units(t.feesCollected, t.token)));
    return tr;
  }));
}

async function refresh() {
  try {
    await loadOverview();
  } catch (e) {
    $("error").textContent = "overview: " + e.message;
  }
  try {
    await loadTransfers();
    $("error").textContent = "";
    $("updated").textContent = "updated " + new Date().toLocaleTimeString();
  } catch (e) {
    $("error").textContent = e.message;
  }
}

$("search").addEventListener("submit", (event) => {
  event.preventDefault();
  const q = $("q").value.trim();
  cursors = [];
  if (q === "") {
    query = "";
  } else if (/^0x[0-9a-fA-F]{40}$/.test(q)) {
    query = "address=" + q;
  } else if (/^0x[0-9a-fA-F]{64}$/.test(q)) {
    query = "tx=" + q;
  } else {
    $("error").textContent = "search by an address (0x and 40 hex digits) or a transaction hash or transfer id (0x and 64)";
    return;
  }
  $("transfers-title").textContent = query ? "Transfers matching " + q : "Recent transfers";
  refresh();
});

$("clear").addEventListener("click", () => {
  $("q").value = "";
  query = "";
  cursors = [];
  $("transfers-title").textContent = "Recent transfers";
  refresh();
});

$("older").addEventListener("click", () => {
  const cursor = $("older").dataset.cursor;
  if (cursor) { cursors.push(cursor); refresh(); }
});

refresh();
setInterval(refresh, POLL_MS);
