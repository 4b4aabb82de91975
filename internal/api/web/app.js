// spur's investigation page: incidents, traces and addresses drawn as a
// flow graph from the HTTP API of the same server. No build step: plain JS.
"use strict";
const $ = (id) => document.getElementById(id);
const COLORS = {exchange: "#c0392b", mixer: "#8e44ad", bridge: "#d35400", unspent: "#7f8c8d",
  sanctioned: "#000000", "stolen-funds": "#e67e22", coinjoin: "#16a085", address: "#2980b9", tx: "#95a5a6", dust: "#bdc3c7", limit: "#bdc3c7"};
const state = {nodes: new Map(), edges: [], flows: []};

$("key").value = localStorage.getItem("spurKey") || "";
$("key").onchange = () => localStorage.setItem("spurKey", $("key").value);

async function api(path, body) {
  const headers = {"Content-Type": "application/json"};
  if ($("key").value) headers.Authorization = "Bearer " + $("key").value;
  const r = await fetch(path, body ? {method: "POST", headers, body: JSON.stringify(body)} : {headers});
  const j = await r.json();
  if (!r.ok) throw new Error((j.error && j.error.message) || r.statusText);
  return j;
}

function status(s) { $("status").textContent = s; }

function btc(sat) { return (sat / 1e8).toFixed(8).replace(/\.?0+$/, "") + " BTC"; }
// An EVM amount in base units (a decimal string), exactly, in whole units
// of the asset (dec, or the trace's decimals for it, or 18), thousands
// separated.
let decimals = {};
function units(v, asset, dec) {
  const d = dec ?? decimals[asset] ?? 18;
  let s;
  try { s = BigInt(String(v)).toString(); } catch { return v + " " + asset; }
  const neg = s.startsWith("-");
  s = (neg ? s.slice(1) : s).padStart(d + 1, "0");
  const whole = s.slice(0, s.length - d).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  const frac = s.slice(s.length - d).replace(/0+$/, "");
  return (neg ? "-" : "") + whole + (frac ? "." + frac : "") + " " + asset;
}
const chain = () => $("chain").value;

function node(id, kind, label) {
  if (!state.nodes.has(id)) state.nodes.set(id, {id, kind, label: label || "", hop: 0});
  const n = state.nodes.get(id);
  if (kind !== "address" && kind !== "tx") n.kind = kind;
  if (label) n.label = label;
  return n;
}

function edge(from, to, amount, info, heuristic, coinjoin) {
  state.edges.push({from, to, amount, info, heuristic: !!heuristic, coinjoin: coinjoin || ""});
}

function reset() { state.nodes.clear(); state.edges = []; state.flows = []; state.request = null; }

// Layered layout: each node's column is its distance from the start.
function layout() {
  const level = new Map();
  const incoming = new Set(state.edges.map((e) => e.to));
  for (const n of state.nodes.values()) if (!incoming.has(n.id)) level.set(n.id, 0);
  for (let i = 0; i < 200; i++) {
    let changed = false;
    for (const e of state.edges) {
      const l = (level.get(e.from) ?? 0) + 1;
      if (!level.has(e.to) || (level.get(e.to) < l && l < 60)) { level.set(e.to, l); changed = true; }
    }
    if (!changed) break;
  }
  const cols = new Map();
  for (const n of state.nodes.values()) {
    const l = level.get(n.id) ?? 0;
    if (!cols.has(l)) cols.set(l, []);
    cols.get(l).push(n);
  }
  for (const [l, ns] of cols) ns.forEach((n, i) => { n.x = 60 + l * 170; n.y = 40 + i * 46; });
}

function draw() {
  layout();
  const svg = $("graph");
  let w = 400, h = 200;
  for (const n of state.nodes.values()) { w = Math.max(w, n.x + 200); h = Math.max(h, n.y + 60); }
  svg.setAttribute("width", w); svg.setAttribute("height", h);
  const max = Math.max(1, ...state.edges.map((e) => e.amount));
  const parts = [];
  state.edges.forEach((e, i) => {
    const a = state.nodes.get(e.from), b = state.nodes.get(e.to);
    const sw = 1 + 8 * Math.sqrt(e.amount / max);
    const dash = e.heuristic ? ` stroke-dasharray="6 4" data-link="heuristic"` : ` data-link="exact"`;
    // Outputs of a CoinJoin are drawn in the CoinJoin colour.
    const col = e.coinjoin ? COLORS.coinjoin : (COLORS[b.kind] || "#2980b9");
    const cj = e.coinjoin ? ` data-coinjoin="${esc(e.coinjoin)}"` : "";
    parts.push(`<line class="edge" data-edge="${i}" x1="${a.x}" y1="${a.y}" x2="${b.x}" y2="${b.y}" stroke="${col}" stroke-width="${sw.toFixed(1)}"${dash}${cj}><title>${esc(e.info)}</title></line>`);
  });
  for (const n of state.nodes.values()) {
    const c = COLORS[n.kind] || COLORS.address;
    const short = n.id.length > 16 ? n.id.slice(0, 8) + "…" + n.id.slice(-6) : n.id;
    parts.push(`<g class="node" data-node="${esc(n.id)}" data-kind="${esc(n.kind)}"><circle cx="${n.x}" cy="${n.y}" r="${n.kind === "tx" ? 5 : 9}" fill="${c}"/>` +
      `<text x="${n.x + 12}" y="${n.y + 4}">${esc(n.label || short)}</text></g>`);
  }
  svg.innerHTML = parts.join("");
  svg.querySelectorAll(".node").forEach((g) => g.onclick = () => details(g.dataset.node));
  svg.querySelectorAll(".edge").forEach((l) => l.onclick = () => showEdge(state.edges[+l.dataset.edge]));
  $("legend").innerHTML = Object.entries(COLORS).map(([k, c]) => `<span class="key"><span class="sw" style="background:${c}"></span>${k}</span>`).join(" ");
}

function esc(s) { return String(s).replace(/[&<>"]/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}[c])); }

function showEdge(e) { $("panel").innerHTML = `<h3>Flow</h3><pre>${esc(e.info)}</pre>`; }

async function details(id) {
  const n = state.nodes.get(id);
  $("panel").innerHTML = `<h3>${esc(n.kind)}</h3><p>${esc(id)}</p><p>${esc(n.label)}</p>` +
    (n.kind === "tx" ? "" : `<button id="expand">Expand neighbours</button>`) + `<pre id="more">loading…</pre>`;
  if ($("expand")) $("expand").onclick = () => expand(id);
  try {
    const v = n.kind === "tx" ? await api(`/v1/${chain()}/txs/${id}`) : await api(`/v1/${chain()}/addresses/${encodeURIComponent(id)}?limit=5`);
    $("more").textContent = JSON.stringify(v, null, 1);
  } catch (err) { $("more").textContent = err.message; }
}

// expand adds an address's latest transactions: who paid it, whom it paid.
async function expand(addr) {
  status("expanding " + addr + "…");
  if (chain() === "eth") {
    const v = await api(`/v1/eth/addresses/${encodeURIComponent(addr)}?limit=20`);
    for (const x of v.transfers || []) {
      if (!x.from_address || !x.to_address || x.kind === "fee" || x.kind === "burn") continue;
      node(x.from_address, "address"); node(x.to_address, "address");
      // A transfer says its asset's decimals; an NFT's value is its token id.
      const what = x.kind === "nft" ? `${x.symbol || x.asset} #${x.value}` : units(x.value, x.symbol || x.asset, x.decimals);
      edge(x.from_address, x.to_address, Number(x.value) / 1e18, `${x.transaction_hash}\n${x.kind}: ${what}`);
    }
    draw();
    status(`${state.nodes.size} nodes, ${state.edges.length} edges`);
    return;
  }
  const v = await api(`/v1/btc/addresses/${encodeURIComponent(addr)}?limit=8`);
  for (const t of v.txs || []) {
    const tx = await api(`/v1/btc/txs/${t.txid}`);
    node(tx.txid, "tx");
    for (const i of tx.inputs) if (i.address) { node(i.address, "address"); edge(i.address, tx.txid, i.value || 0, `${i.address} → ${tx.txid}\n${btc(i.value || 0)}`); }
    for (const o of tx.outputs) if (o.address) { node(o.address, "address"); edge(tx.txid, o.address, o.value, `${tx.txid}:${o.n} → ${o.address}\n${btc(o.value)}`); }
  }
  draw();
  status(`${state.nodes.size} nodes, ${state.edges.length} edges`);
}

async function traceRefs(refs) {
  reset();
  status("tracing " + refs.join(", ") + "…");
  state.request = {chain: chain(), from: refs, model: $("model").value, mixer_links: $("links").checked};
  if (chain() === "eth" && $("cross").checked) state.request.cross = true;
  const res = await api("/v1/trace", state.request);
  state.flows = res.flows;
  const eth = chain() === "eth";
  decimals = res.decimals || {};
  // On Bitcoin a transaction's inputs are not paid to its outputs one by
  // one: the taint goes through the transaction, as spur trace --format svg
  // draws it (the start's address into the first transactions, each output
  // into the transaction that spent it). On Ethereum a transfer joins two
  // addresses.
  // Edges are as thick as their value: in dollars on Ethereum where prices
  // are known (its assets differ), else in the chain's units.
  const priced = eth && res.flows.some((f) => f.usd > 0);
  const weigh = (f) => !eth ? f.amount : priced ? (f.usd || 0) : Number(f.amount) / 1e18;
  drawFlows(res.flows, eth, weigh);
  for (const d of res.destinations) if (d.address && state.nodes.has(d.address)) node(d.address, d.category, d.label ? d.label : d.category);
  // Across the bridges: each deposit to its payout on Bitcoin (matched by
  // time and value: heuristic), then the Bitcoin trace of the payouts.
  const crossed = res.crossed;
  if (crossed) {
    // Satoshi weighed as the deposits they were paid for.
    const bridges = new Set(crossed.links.map((l) => l.bridge));
    const usdIn = res.flows.filter((f) => bridges.has(f.to)).reduce((a, f) => a + weigh(f), 0);
    const sats = crossed.links.reduce((a, l) => a + l.amount, 0);
    const perSat = sats > 0 ? usdIn / sats : 1;
    for (const l of crossed.links) {
      node(l.bridge, "bridge"); node(l.payout_address, "address");
      edge(l.bridge, l.payout_address, l.amount * perSat, `${l.deposit_tx} → ${l.payout}\n${btc(l.amount)} paid out on Bitcoin (heuristic: matched by time and value)`, true);
    }
    const bt = crossed.btc_trace;
    drawFlows(bt.flows || [], false, (f) => f.amount * perSat);
    for (const d of bt.destinations || []) if (d.address && state.nodes.has(d.address)) node(d.address, d.category, d.label ? d.label : d.category);
    state.flows = state.flows.concat(bt.flows || []);
  }
  draw();
  const start = eth ? Object.entries(res.start).map(([a, v]) => units(v, a)).join(", ") : btc(res.start_amount);
  const links = res.mixer_links ? "; mixer links: " + JSON.stringify(res.mixer_links) : "";
  const over = crossed ? `; ${crossed.matched} bridge payouts matched on Bitcoin` : "";
  status(`${res.model} trace of ${start}: ${res.flows.length} flows, ${res.destinations.length} destinations${links}${over}`);
}

// drawFlows adds a trace's flows to the graph, each edge as thick as
// weigh says.
function drawFlows(flows, eth, weigh) {
  const starts = new Map();
  for (const f of flows) {
    if (!f.to) continue;
    const amount = weigh(f);
    const text = eth ? units(f.amount, f.asset) : btc(f.amount);
    const usd = f.usd ? ` ≈ $${Math.round(f.usd).toLocaleString("en-US")}` : "";
    const cj = f.coinjoin ? `\nCoinJoin: ${f.coinjoin}` : "";
    const info = `${f.tx}\n${f.from} → ${f.to}\n${text}${usd} (${f.link}${f.clue ? ", " + f.clue : ""}${f.confidence ? ", confidence " + f.confidence.toFixed(2) : ""})${cj}`;
    node(f.to, "address");
    if (eth) {
      node(f.from || "start", "address");
      edge(f.from || "start", f.to, amount, info, f.link === "heuristic", f.coinjoin);
      continue;
    }
    node(f.tx, "tx");
    edge(f.tx, f.to, amount, info, f.link === "heuristic", f.coinjoin);
    if (f.spent_by) {
      node(f.spent_by, "tx");
      edge(f.to, f.spent_by, amount, `${f.to} → ${f.spent_by}\n${text}${usd} (${f.link})`, f.link === "heuristic");
    }
    if (f.hop === 1 && f.from) {
      const k = f.from + " " + f.tx;
      const st = starts.get(k) ?? {from: f.from, tx: f.tx, amount: 0, sat: 0, usd: 0};
      st.amount += amount; st.sat += f.amount; st.usd += f.usd || 0;
      starts.set(k, st);
    }
  }
  for (const st of starts.values()) {
    node(st.from, "address");
    edge(st.from, st.tx, st.amount, `${st.from} → ${st.tx}\n${btc(st.sat)}${st.usd ? ` ≈ $${Math.round(st.usd).toLocaleString("en-US")}` : ""}`);
  }
}

// The page's question lives in its address (#q=...&chain=eth&model=fifo
// &links=1&cross=1), so that a trace can be bookmarked or sent to a
// colleague: written at each search, read when the page opens or the
// address changes.
function saveHash() {
  const p = new URLSearchParams({q: $("q").value.trim(), chain: chain(), model: $("model").value});
  if ($("links").checked) p.set("links", "1");
  if ($("cross").checked) p.set("cross", "1");
  if ("#" + p.toString() !== location.hash) history.replaceState(null, "", "#" + p.toString());
}
function loadHash() {
  const p = new URLSearchParams(location.hash.slice(1));
  if (!p.get("q")) return false;
  const pick = (id, v) => { if (v && [...$(id).options].some((o) => o.value === v)) $(id).value = v; };
  $("q").value = p.get("q");
  pick("chain", p.get("chain"));
  pick("model", p.get("model"));
  $("links").checked = p.get("links") === "1";
  $("cross").checked = p.get("cross") === "1";
  return true;
}
window.addEventListener("hashchange", () => { if (loadHash()) search(); });

async function search() {
  const q = $("q").value.trim();
  if (!q) return;
  saveHash();
  try {
    if (q.startsWith("incident:") || /^(0x)?[0-9a-fA-F]{64}(:\d+)?$/.test(q)) return await traceRefs([q]);
    reset(); node(q, "address"); draw(); await details(q); await expand(q);
  } catch (err) { status(err.message); }
}

// Watch: the alerts of the chain chosen (GET /v1/{chain}/alerts; by
// entity if asked: on Bitcoin the clustering's, on an EVM chain the
// deposit addresses joined to their exchange), from the block given or the last 100, then
// polled every five seconds from the block after the last answered, newest
// first; a click traces from one.
const watching = {timer: null, run: 0};
async function watch() {
  clearTimeout(watching.timer);
  const run = ++watching.run, c = chain(), cats = $("watchcats").value.trim();
  $("alerts").replaceChildren();
  let from = parseInt($("watchfrom").value, 10);
  try {
    if (Number.isNaN(from)) {
      const tip = await api(c === "btc" ? "/v1/btc/blocks/tip" : `/v1/${c}/blocks/latest`);
      from = Math.max(0, (c === "btc" ? tip.height : tip.number) - 99);
    }
    const poll = async () => {
      if (run !== watching.run) return;
      try {
        const byEntity = $("watchentity").checked ? "&by_entity=true" : "";
        const r = await api(`/v1/${c}/alerts?categories=${encodeURIComponent(cats)}&from=${from}${byEntity}`);
        for (const a of r.alerts) $("alerts").prepend(alertItem(c, a));
        while ($("alerts").children.length > 500) $("alerts").lastChild.remove();
        from = r.to + 1;
        status(`watching ${cats} on ${c}: blocks up to ${r.to}, ${$("alerts").children.length} alerts listed`);
      } catch (err) { status("watch: " + err.message); }
      if (run === watching.run) watching.timer = setTimeout(poll, 5000);
    };
    await poll();
  } catch (err) { status("watch: " + err.message); }
}
function alertItem(c, a) {
  const li = document.createElement("li");
  const amount = (p) => c === "btc" ? btc(p.value) : p.nft ? `${p.symbol || p.asset} #${p.value}` : units(p.value, p.symbol || p.asset, p.decimals);
  const party = (side, p) => `${side} ${p.address.slice(0, 12)}… ${amount(p)} ${[...p.labels.map((l) => l.category), p.entity ? "entity" : ""].filter(Boolean).join(", ")}`;
  li.textContent = `block ${a.height} ${a.txid.slice(0, 10)}…`;
  li.title = [...a.from.map((p) => party("from", p)), ...a.to.map((p) => party("to", p))].join("\n");
  li.dataset.txid = a.txid;
  li.onclick = () => { $("chain").value = c; $("q").value = a.txid; search(); };
  return li;
}
$("watch").onclick = watch;

$("go").onclick = search;
$("q").onkeydown = (e) => { if (e.key === "Enter") search(); };
// A report comes with the API key, then opens as a page of its own.
async function reportText(path) {
  const headers = $("key").value ? {Authorization: "Bearer " + $("key").value} : {};
  const r = await fetch(path, {headers});
  if (!r.ok) throw new Error("report: " + r.statusText);
  return r.text();
}
async function openReport(path) {
  try {
    window.open(URL.createObjectURL(new Blob([await reportText(path)], {type: "text/html"})), "_blank");
  } catch (err) { status(err.message); }
}
const actorReport = (format) => `/v1/reports/actor/${encodeURIComponent($("actor").value)}?year=${$("year").value}&format=${format}`;
$("report").onclick = () => openReport(actorReport("html"));
// The report as CSV: a row for each place the value went, by incident and chain.
$("reportcsv").onclick = async () => {
  try { download("spur-report.csv", "text/csv", await reportText(actorReport("csv"))); } catch (err) { status(err.message); }
};

function svgText() {
  const svg = $("graph").cloneNode(true);
  svg.setAttribute("xmlns", "http://www.w3.org/2000/svg");
  return new XMLSerializer().serializeToString(svg);
}
function download(name, type, data) {
  const a = document.createElement("a");
  a.href = typeof data === "string" ? URL.createObjectURL(new Blob([data], {type})) : data;
  a.download = name; a.click();
}
$("svg").onclick = () => download("spur-graph.svg", "image/svg+xml", svgText());
$("csv").onclick = () => download("spur-flows.csv", "text/csv",
  "chain,tx,from,to,asset,amount,hop,link,clue,confidence,spent_by\n" + state.flows.map((f) => [f.chain, f.tx, f.from, f.to, f.asset, f.amount, f.hop ?? "", f.link, f.clue ?? "", f.confidence ?? "", f.spent_by ?? ""].join(",")).join("\n"));
// The last trace as spur trace --format writes it: dot (Graphviz's DOT),
// graphml (for Gephi, Cytoscape, yEd), or labels (the addresses holding
// the taint, as stolen-funds labels).
async function traceAs(format) {
  if (!state.request) throw new Error("trace an incident first");
  const headers = {"Content-Type": "application/json"};
  if ($("key").value) headers.Authorization = "Bearer " + $("key").value;
  const r = await fetch("/v1/trace", {method: "POST", headers, body: JSON.stringify({...state.request, format})});
  if (!r.ok) throw new Error(format + ": " + r.statusText);
  return r.text();
}
const dotText = () => traceAs("dot");
$("dot").onclick = async () => {
  try { download("spur-trace.dot", "text/vnd.graphviz", await dotText()); } catch (err) { status(err.message); }
};
$("graphml").onclick = async () => {
  try { download("spur-trace.graphml", "application/graphml+xml", await traceAs("graphml")); } catch (err) { status(err.message); }
};
$("labels").onclick = async () => {
  try { download("spur-labels.csv", "text/csv", await traceAs("labels")); } catch (err) { status(err.message); }
};
$("png").onclick = () => {
  const img = new Image(), svg = $("graph");
  img.onload = () => {
    const c = document.createElement("canvas");
    c.width = +svg.getAttribute("width"); c.height = +svg.getAttribute("height");
    const g = c.getContext("2d"); g.fillStyle = "#fff"; g.fillRect(0, 0, c.width, c.height); g.drawImage(img, 0, 0);
    download("spur-graph.png", "image/png", c.toDataURL("image/png"));
  };
  img.src = "data:image/svg+xml;charset=utf-8," + encodeURIComponent(svgText());
};

(async function init() {
  try {
    const incs = await api("/v1/incidents");
    const list = incs.incidents || incs;
    $("incidents").innerHTML = list.map((i) =>
      `<li data-id="${esc(i.id)}">${esc(i.date)} ${esc(i.victim)}</li>`).join("");
    document.querySelectorAll("#incidents li").forEach((li, k) => li.onclick = () => {
      // An incident on an EVM chain alone is traced there.
      const inc = list[k];
      if (!(inc.theft_txs || []).length && inc.evm) $("chain").value = inc.evm.chain;
      $("q").value = "incident:" + li.dataset.id;
      search();
      $("panel").innerHTML = `<h3>Incident ${esc(li.dataset.id)}</h3><p>${esc(li.textContent)}</p><button id="increport">Open its report</button>`;
      $("increport").onclick = () => openReport(`/v1/reports/incident/${encodeURIComponent(li.dataset.id)}?format=html&model=${$("model").value}`);
    });
  } catch (err) { status("incidents: " + err.message + " (an API key is needed unless spur serve runs with --no-auth)"); }
  if (loadHash()) search();
})();
