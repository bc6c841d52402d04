// rnnkit inspect: the text coloured by one unit's activation, the unit's trace under each line,
// a unit list ranked by correlation with properties of the text, values on hover.
// Data layout (FORMAT 1, written by rnnkit/viewer/page.py): per kind, U x T bytes unit by unit,
// zlib + base64; value = lo[u] + q * (hi[u] - lo[u]) / (levels - 1).
"use strict";
(async function main() {
  const D = JSON.parse(document.getElementById("rnnkit-data").textContent);
  const T = D.pieces.length, H = D.hidden, U = D.layers * H, LV = D.levels;
  const P = D.properties.length, K = D.k, kinds = Object.keys(D.kinds);
  const $ = (id) => document.getElementById(id);

  function bytes(b64) {
    const s = atob(b64), a = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) a[i] = s.charCodeAt(i);
    return a;
  }
  async function inflate(b64) {
    const stream = new Blob([bytes(b64)]).stream().pipeThrough(new DecompressionStream("deflate"));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  }
  const [codes, props, topIds, topProbs, nextProb] = await Promise.all([
    Promise.all(kinds.map((k) => inflate(D.kinds[k].data))),
    inflate(D.props), inflate(D.top_ids), inflate(D.top_probs), inflate(D.next_prob)]);
  performance.mark("rnnkit:data");  // parsed and inflated
  const code = Object.fromEntries(kinds.map((k, j) => [k, codes[j]]));
  const ids = D.top_wide ? new Uint16Array(topIds.buffer) : topIds;

  const state = { kind: kinds[0], unit: 0, prop: "any", order: [] };
  const value = (kind, u, t) => {
    const d = D.kinds[kind];
    return d.lo[u] + code[kind][u * T + t] * (d.hi[u] - d.lo[u]) / (LV - 1);
  };
  const unitName = (u) => `L${Math.floor(u / H) + 1} #${u % H}`;
  const show = (s) => s.replace(/\n/g, "\u21b5").replace(/\t/g, "\u2192")
    .replace(/[\u0000-\u001f\u007f]/g, "\u00b7");
  const fmt = (v) => (v >= 0 ? "+" : "") + v.toFixed(3);

  // --- the text: one span per token, one div per line, a trace canvas under each line
  const cw = (() => {
    const probe = document.createElement("span");
    probe.textContent = "M".repeat(100);
    probe.style.font = getComputedStyle($("text")).font;
    document.body.appendChild(probe);
    const w = probe.getBoundingClientRect().width / 100;
    probe.remove();
    return w || 8;
  })();
  $("text").style.setProperty("--cw", cw + "px");
  const spans = new Array(T), lines = [], lineOf = new Int32Array(T), colOf = new Int32Array(T);
  {
    const frag = document.createDocumentFragment();
    let div = null, line = null, col = 0;
    const newLine = () => {
      div = document.createElement("div");
      div.className = "line";
      const canvas = document.createElement("canvas");
      canvas.className = "trace";
      line = { tokens: [], xs: [], canvas, width: 0 };
      lines.push(line);
      frag.appendChild(div);
      frag.appendChild(canvas);
      col = 0;
    };
    newLine();
    for (let t = 0; t < T; t++) {
      const piece = D.pieces[t], text = show(piece), n = Math.max(text.length, 1);
      const span = document.createElement("span");
      span.textContent = text || "\u00b7";
      span.dataset.i = t;
      if (text !== piece || !piece) span.className = "ctl";
      if (n !== 1) span.style.width = n * cw + "px";
      div.appendChild(span);
      spans[t] = span;
      lineOf[t] = lines.length - 1;
      colOf[t] = col;
      line.tokens.push(t);
      line.xs.push((col + n / 2) * cw);
      col += n;
      line.width = col * cw;
      if (piece.includes("\n")) newLine();
    }
    $("text").appendChild(frag);
  }
  performance.mark("rnnkit:text");  // the text laid out

  // --- colours and traces of the chosen unit
  function palette(kind, u) {
    const d = D.kinds[kind], lo = d.lo[u], hi = d.hi[u], out = new Array(LV);
    const s = Math.max(Math.abs(lo), Math.abs(hi)) || 1;
    for (let q = 0; q < LV; q++) {
      const v = lo + q * (hi - lo) / (LV - 1);
      if (d.sigmoid) {  // [0, 1]: white to green
        const x = Math.min(Math.max(v, 0), 1);
        out[q] = `rgb(${255 - 170 * x | 0},${255 - 70 * x | 0},${255 - 170 * x | 0})`;
      } else {  // centred on 0: blue below, red above
        const x = v / s, a = 255 - 190 * Math.abs(x) | 0;
        out[q] = x >= 0 ? `rgb(255,${a},${a})` : `rgb(${a},${a},255)`;
      }
    }
    return out;
  }
  function drawTraces(kind, u) {
    const d = D.kinds[kind], lo = d.lo[u], hi = d.hi[u], dpr = window.devicePixelRatio || 1;
    const span = hi - lo || 1, h = 12, c = code[kind], base = u * T;
    const zero = d.sigmoid || lo > 0 || hi < 0 ? null : h - (0 - lo) / span * h;
    for (const line of lines) {
      const cv = line.canvas, w = Math.max(line.width, 1);
      cv.style.width = w + "px";
      cv.width = Math.ceil(w * dpr);
      cv.height = h * dpr;
      const g = cv.getContext("2d");
      g.scale(dpr, dpr);
      if (zero !== null) {
        g.strokeStyle = "#ccc";
        g.beginPath(); g.moveTo(0, zero); g.lineTo(w, zero); g.stroke();
      }
      g.strokeStyle = "#c33";
      g.beginPath();
      line.tokens.forEach((t, j) => {
        const y = h - 1 - c[base + t] / (LV - 1) * (h - 2);
        if (j) g.lineTo(line.xs[j], y); else g.moveTo(line.xs[j], y);
      });
      g.stroke();
    }
  }
  function legend(kind, u) {
    const d = D.kinds[kind], cv = document.createElement("canvas"), pal = palette(kind, u);
    cv.width = 120; cv.height = 10;
    const g = cv.getContext("2d");
    for (let x = 0; x < 120; x++) {
      g.fillStyle = pal[Math.round(x / 119 * (LV - 1))];
      g.fillRect(x, 0, 1, 10);
    }
    $("legend").replaceChildren(d.lo[u].toFixed(3), cv, d.hi[u].toFixed(3));
  }
  function select(kind, u) {
    u = Math.min(Math.max(u | 0, 0), U - 1);
    state.kind = kind; state.unit = u;
    const pal = palette(kind, u), c = code[kind], base = u * T;
    for (let t = 0; t < T; t++) spans[t].style.backgroundColor = pal[c[base + t]];
    drawTraces(kind, u);
    legend(kind, u);
    const r = D.kinds[kind].corr[u];
    const best = r.reduce((b, v, j) => (Math.abs(v) > Math.abs(r[b]) ? j : b), 0);
    $("current").textContent = `${unitName(u)} (unit ${u}) ${kind}: r = ${fmt(r[best])} ` +
      `with ${D.properties[best]}`;
    $("unit").value = u;
    $("kind").value = kind;
    for (const li of $("units").children) li.classList.toggle("on", +li.dataset.u === u);
    document.body.dataset.unit = u;
    document.body.dataset.kind = kind;
  }

  // --- the unit list, ranked by |r| with the chosen property (or the best of all)
  function rank() {
    const corr = D.kinds[state.kind].corr, j = D.properties.indexOf(state.prop);
    const score = (u) => (j >= 0 ? Math.abs(corr[u][j]) : Math.max(...corr[u].map(Math.abs)));
    const best = (u) => (j >= 0 ? j : corr[u].reduce(
      (b, v, i) => (Math.abs(v) > Math.abs(corr[u][b]) ? i : b), 0));
    state.order = Array.from({ length: U }, (_, u) => u).sort((a, b) => score(b) - score(a));
    $("units").innerHTML = state.order.map((u) => {
      const i = best(u);
      return `<li data-u="${u}">${unitName(u).padEnd(9)} ${fmt(corr[u][i])} ` +
        `${D.properties[i]}</li>`;
    }).join("");
  }
  for (const k of kinds) $("kind").add(new Option(k, k));
  $("prop").add(new Option("best property", "any"));
  for (const p of D.properties) $("prop").add(new Option(p, p));
  $("unit").max = U - 1;
  $("units").addEventListener("click", (e) => {
    const li = e.target.closest("li");
    if (li) select(state.kind, +li.dataset.u);
  });
  $("kind").addEventListener("change", () => { state.kind = $("kind").value; rank();
    select(state.kind, state.unit); });
  $("prop").addEventListener("change", () => { state.prop = $("prop").value; rank();
    select(state.kind, state.order[0]); });
  $("unit").addEventListener("change", () => select(state.kind, +$("unit").value));
  document.addEventListener("keydown", (e) => {
    if (e.target.closest("input, select") || !["ArrowDown", "ArrowUp"].includes(e.key)) return;
    const at = state.order.indexOf(state.unit) + (e.key === "ArrowDown" ? 1 : -1);
    if (at >= 0 && at < U) { select(state.kind, state.order[at]); e.preventDefault(); }
  });

  // --- hover: the unit's values, the properties and the model's next-token predictions
  let marked = null;
  $("text").addEventListener("mouseover", (e) => {
    const span = e.target.closest("span[data-i]");
    if (!span) return;
    const t = +span.dataset.i, u = state.unit, tip = $("tip");
    if (marked) marked.classList.remove("at");
    marked = span; span.classList.add("at");
    const vals = kinds.map((k) => `${k} ${fmt(value(k, u, t))}`).join("  ");
    const pr = D.properties.map((p, j) => `${p} ${props[j * T + t]}`).join("  ");
    const top = [];
    for (let j = 0; j < K; j++) {
      top.push(`${JSON.stringify(D.vocab[ids[t * K + j]])} ${(topProbs[t * K + j] / 255).toFixed(2)}`);
    }
    const nxt = t + 1 < T ? `p(next = ${JSON.stringify(D.pieces[t + 1])}) = ` +
      `${(nextProb[t] / 254).toFixed(3)}` : "(the last token)";
    tip.textContent = `token ${t} ${JSON.stringify(D.pieces[t])}  line ${lineOf[t] + 1} ` +
      `col ${colOf[t]}\n${unitName(u)}  ${vals}\n${pr}\nnext: ${top.join("  ")}\n${nxt}`;
    tip.hidden = false;
    const x = Math.min(e.clientX + 14, window.innerWidth - tip.offsetWidth - 4);
    const y = e.clientY + 18 + tip.offsetHeight > window.innerHeight ?
      e.clientY - tip.offsetHeight - 8 : e.clientY + 18;
    tip.style.left = Math.max(x, 0) + "px"; tip.style.top = Math.max(y, 0) + "px";
  });
  $("text").addEventListener("mouseleave", () => { $("tip").hidden = true; });

  $("summary").textContent = `${D.title}\n${D.mode}, ${D.layers} layer(s) x ${H} units; ` +
    `${T} tokens; ${kinds.join(", ")}; ${P} properties`;
  rank();
  select(state.kind, state.order[0]);
  window.rnnkitViewer = { select, readyMs: performance.now() };
  document.body.dataset.ready = "1";
})().catch((err) => {
  document.body.textContent = "rnnkit inspect: this page could not be shown: " + err;
  throw err;
});
