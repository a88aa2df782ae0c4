// The latent map as a Streamlit (components v2) element: WebGL points, legend or colour bar, pan and zoom,
// click (topmost visible point under the cursor), box and lasso selection, the open source ringed, search hits
// highlighted. Python sends layers as binary arrays (payload.js); the element keeps them between reruns.
import { decode, sameFlags, selectionFlags } from "./payload.js";
import { Renderer } from "./gl.js";
import { pick, fitView, clipOf } from "./view.js";
import { drawOverlay } from "./overlay.js";
import { buildLegend } from "./legend.js";
import { CSS } from "./style.js";
import { listen } from "./interact.js";

const instances = new WeakMap(); // parentElement -> MapView
const hiddenClasses = new Map(); // legend classes hidden, per map (survives reruns and page changes)
const views = new Map(); // layout key -> view (zoom and pan survive a recolouring or a page change)



function el(tag, cls, parent) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (parent) parent.appendChild(e);
  return e;
}

class MapView {
  constructor(parent) {
    const style = el("style", null, parent);
    style.textContent = CSS;
    const root = (this.root = el("div", "xle-scatter", parent));
    root.setAttribute("data-testid", "xleScatter");
    root.xle = this;
    this.legend = el("div", "xle-legend", root);
    this.tools = el("div", "xle-tools", root);
    this.selBadge = el("span", "xle-count", this.tools); // "N selected" (box or lasso)
    this.hitsButton = el("button", null, this.tools);
    this.hitsButton.textContent = "zoom to hits";
    this.hitsButton.style.display = "none";
    this.hitsButton.onclick = () => this.zoomTo(this.hits);
    const reset = el("button", null, this.tools);
    reset.textContent = "reset view";
    reset.onclick = () => this.resetView();
    this.plot = el("div", "xle-plot", root);
    this.canvas = el("canvas", null, this.plot);
    this.overlay = el("canvas", null, this.plot);
    this.tip = el("div", "xle-tip", this.plot);
    this.xTitle = el("div", "xle-axis", root);
    this.xTitle.style.cssText = "left: 50%; bottom: 0;";
    this.yTitle = el("div", "xle-axis", root);
    this.yTitle.style.cssText = "left: 2px; top: 62px;"; // just under the legend (style.js: .xle-plot top)
    this.note = el("div", "xle-note", root);
    this.renderer = new Renderer(this.canvas);
    this.drawCount = 0;
    this.hidden = new Set();
    this.hits = [];
    this.focus = -1;
    this.flags = null; // selection flags (draw order)
    this.selCount = 0;
    this.outline = false;
    listen(this);
    new ResizeObserver(() => this.resize()).observe(this.plot);
  }

  get n() { return this.pos ? this.pos.x.length : 0; }

  // the sources' names in draw order, or null until they arrive (or when the map has too many points)
  get names() {
    if (!this.namesLayer) return null;
    if (!this.nameList) this.nameList = new TextDecoder().decode(this.namesLayer.text).split("\n");
    return this.nameList;
  }

  update({ header, layers }) {
    this.header = header;
    this.mode = header.mode || "click";
    // styles written only when they change: a write during a rerun makes the browser lay the page out again
    const height = `${header.height || 600}px`, cursor = this.mode === "click" ? "default" : "crosshair";
    if (this.root.style.height !== height) this.root.style.height = height;
    if (this.plot.style.cursor !== cursor) this.plot.style.cursor = cursor;
    this.hidden = hiddenClasses.get(header.map) || new Set();
    hiddenClasses.set(header.map, this.hidden);
    const { pos, colour, mask, sel, names } = layers;
    // no names layer (before the first draw, or a run over NAMES_MAX): drop any previous run's names
    if ((names || null) !== this.namesLayer) { this.namesLayer = names || null; this.nameList = null; }
    // "none" (too many points: the hover shows the row), "pending" (asked for after the first draw), "ready"
    this.root.dataset.names = header.names === "none" ? "none" : this.namesLayer ? "ready" : "pending";
    let vis = false;
    if (pos !== this.pos) {
      this.pos = pos;
      this.renderer.setPositions(pos.x, pos.y);
      this.view = views.get(pos.key) || null;
      this.xTitle.textContent = pos.meta.titles[0];
      this.yTitle.textContent = pos.meta.titles[1];
      vis = true;
    }
    if (colour !== this.colour) {
      this.colour = colour;
      this.renderer.setPalette(colour.meta.palette);
      this.renderer.setCodes(colour.c);
      this.sizes = Float32Array.from({ length: 256 }, (_, i) => (colour.meta.palette[i] || [0, 0, 0, 0, 1])[4]);
      vis = true;
    }
    if (mask !== this.mask) { this.mask = mask; vis = true; }
    if (sel !== this.sel) {
      this.sel = sel;
      const flags = sel.meta.count ? selectionFlags(sel, this.n) : null;
      // the selection this element made itself comes back from Python: already drawn, no redraw
      if (!sameFlags(flags, this.flags)) { this.flags = flags; vis = true; }
      this.selCount = sel.meta.count;
      this.outline = sel.meta.outline;
      this.showCount();
    }
    this.focus = header.focus ?? -1;
    this.hits = header.hits || [];
    this.hitsButton.style.display = this.hits.length ? "" : "none";
    this.hitsButton.textContent = `zoom to ${this.hits.length} hit${this.hits.length === 1 ? "" : "s"}`;
    buildLegend(this);
    const points = vis || this.hiddenDirty;
    if (points) this.visibility();
    // a new open source or new search hits redraw the overlay only, not the points
    this.redraw(!points && this.drawCount > 0);
  }

  // 0 hidden (filtered out, hidden class, no position), 1 dimmed (outside a selection), 2 shown
  visibility() {
    const n = this.n;
    const v = (this.vis = new Uint8Array(n));
    const bits = this.mask.bits;
    const codes = this.colour.c;
    const byClass = this.colour.meta.mode === "class" && this.hidden.size;
    const hidden = new Uint8Array(256);
    if (byClass) for (const c of this.hidden) hidden[c] = 1;
    const f = this.flags;
    let shown = 0;
    for (let i = 0; i < n; i++) {
      if (!((bits[i >> 3] >> (i & 7)) & 1) || (byClass && hidden[codes[i]])) continue;
      v[i] = f && !f[i] ? 1 : 2;
      shown++;
    }
    this.shown = shown;
    this.hiddenDirty = false;
    this.renderer.setVisibility(v);
    this.root.dataset.shown = String(shown);
  }

  showCount() {
    const text = this.selCount ? `${this.selCount.toLocaleString("en-US")} selected` : "";
    if (this.selBadge.textContent !== text) this.selBadge.textContent = text;
  }

  pointSize() {
    const s = this.mask.meta.shown;
    const base = s < 3000 ? 7 : s < 30000 ? 5 : 3;
    const zoom = this.view && this.home ? Math.sqrt(this.view.kx / this.home.kx) : 1;
    return base * Math.min(3, Math.max(1, zoom));
  }

  // The plot's size, read when the browser reports a new size (ResizeObserver) or before the first draw; never
  // while a rerun updates the element (reading a size then makes the browser lay out the whole page).
  measure() {
    const r = this.plot.getBoundingClientRect();
    if (!r.width || !r.height) return false;
    const dpr = (this.dpr = window.devicePixelRatio || 1);
    this.W = r.width;
    this.H = r.height;
    for (const c of [this.canvas, this.overlay]) {
      const w = Math.round(r.width * dpr);
      const h = Math.round(r.height * dpr);
      if (c.width !== w || c.height !== h) { c.width = w; c.height = h; }
    }
    return true;
  }

  // ResizeObserver calls this once when it starts observing: redraw only when the size really changed (a
  // needless redraw of 100,000 points costs ~130 ms in software WebGL, right after the first draw)
  resize() {
    const before = `${this.W}x${this.H}x${this.dpr}`;
    if (this.measure() && (`${this.W}x${this.H}x${this.dpr}` !== before || !this.drawCount)) this.redraw();
  }

  keepView() { views.set(this.pos.key, this.view); }

  resetView() { this.view = { ...this.home }; views.set(this.pos.key, this.view); this.redraw(); }

  zoomTo(idx) {
    if (!idx.length) return;
    const { x, y } = this.pos;
    let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    for (const i of idx) { x0 = Math.min(x0, x[i]); x1 = Math.max(x1, x[i]); y0 = Math.min(y0, y[i]); y1 = Math.max(y1, y[i]); }
    const [bx0, bx1, by0, by1] = this.pos.meta.bounds;
    const mx = Math.max(x1 - x0, 0.04 * (bx1 - bx0)), my = Math.max(y1 - y0, 0.04 * (by1 - by0));
    const cx = (x0 + x1) / 2, cy = (y0 + y1) / 2;
    this.view = fitView([cx - 0.7 * mx, cx + 0.7 * mx, cy - 0.7 * my, cy + 0.7 * my], this.W, this.H, 0);
    views.set(this.pos.key, this.view);
    this.redraw();
  }

  // Draw on the next frame: the points (unless ``overlayOnly``) and the overlay.
  redraw(overlayOnly = false) {
    if (!overlayOnly) this.pointsDirty = true;
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      if (!this.pos || !this.vis || (!this.W && !this.measure())) return;
      this.home = fitView(this.pos.meta.bounds, this.W, this.H);
      if (!this.view) this.view = { ...this.home };
      if (this.pointsDirty) {
        this.pointsDirty = false;
        this.renderer.draw(clipOf(this.view, this.W, this.H), this.pointSize() * this.dpr);
        this.drawCount++;
        performance.mark("xle:drawn"); // (... and was drawn)
        this.root.dataset.drawn = String(this.drawCount);
        this.root.dataset.n = String(this.n);
        this.root.dataset.colour = this.colour.key;
        this.root.dataset.selected = String(this.selCount);
        if (!this.header.drawn && !this.drawnSent) {
          this.drawnSent = true; // once: Python then sends the names with every payload (by key when held)
          setTimeout(() => this.send("drawn", { pos: this.pos.key }), 0);
        }
      }
      drawOverlay(this);
    });
  }

  // client (CSS) coordinates of point i, for tests and overlays
  screenOf(i) {
    const r = this.plot.getBoundingClientRect();
    const v = this.view;
    return { x: r.left + (this.pos.x[i] - v.cx) * v.kx + this.W / 2, y: r.top + this.H / 2 - (this.pos.y[i] - v.cy) * v.ky };
  }

  pickAt(px, py) { return pick(this, px, py); }

  send(name, value) { if (this.trigger) this.trigger(name, value); }

  click(at) {
    const i = this.pickAt(at[0], at[1]);
    this.root.dataset.picked = String(i);
    if (i < 0) return;
    this.focus = i;
    drawOverlay(this);
    this.send("click", { row: this.pos.row[i], index: i, pos: this.pos.key });
  }

  selectLocal(idx) {
    this.flags = idx.length ? new Uint8Array(this.n) : null;
    for (const i of idx) this.flags[i] = 1;
    this.selCount = idx.length;
    this.showCount();
    this.outline = idx.length > 0 && idx.length <= 1000;
    this.visibility();
    this.redraw();
  }

  hover(at) {
    if (this.hoverFrame) return;
    this.hoverFrame = requestAnimationFrame(() => {
      this.hoverFrame = 0;
      const i = this.pickAt(at[0], at[1]);
      if (i < 0) { this.tip.style.display = "none"; return; }
      const m = this.colour.meta;
      const c = this.colour.c[i];
      let text;
      if (m.mode === "class") text = (m.legend[c] || {}).name;
      else text = c === 255 ? `${m.title}: n/a` : `${m.title} ≈ ${(m.lo + (c / 254) * (m.hi - m.lo)).toPrecision(3)}`;
      const list = this.names;
      const name = list ? list[i] : `row ${this.pos.row[i]}`;
      this.tip.textContent = `${name} · ${text}`;
      this.tip.style.display = "block";
      this.tip.style.left = `${Math.min(at[0] + 12, this.W - 220)}px`;
      this.tip.style.top = `${at[1] + 12}px`;
    });
  }

  fail(err) {
    this.note.textContent = `map error: ${err.message || err}`;
    this.root.dataset.error = String(err.message || err);
  }
}

export default function (component) {
  const { data, parentElement, setTriggerValue } = component;
  performance.mark("xle:data"); // timings for benchmarks/bench_explorer.py (the payload arrived ...)
  let view = instances.get(parentElement);
  try {
    if (!view) { view = new MapView(parentElement); instances.set(parentElement, view); }
    view.trigger = setTriggerValue;
    const decoded = decode(data);
    if (decoded.missing.length) {
      // this browser lost a layer Python believes it holds (a reload, an evicted cache): ask for it again
      view.root.dataset.missing = decoded.missing.join(",");
      setTriggerValue("need", { keys: decoded.missing });
      return;
    }
    view.update(decoded);
  } catch (err) {
    if (view) view.fail(err);
    else parentElement.textContent = `map error: ${err.message || err}`;
  }
}
