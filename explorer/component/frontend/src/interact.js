// Pointer handling of the map element: drag to pan (click mode) or to draw a box or lasso, click to pick,
// wheel to zoom about the cursor, double click to reset, hover for the tooltip.
import { encodeIndices } from "./payload.js";
import { inBox, inPolygon } from "./view.js";
import { drawOverlay } from "./overlay.js";

export function listen(m) {
  const p = m.plot;
  let start = null;
  let path = [];
  const local = (e) => { const r = p.getBoundingClientRect(); return [e.clientX - r.left, e.clientY - r.top]; };
  p.addEventListener("pointerdown", (e) => {
    if (!m.pos) return;
    p.setPointerCapture(e.pointerId);
    start = { at: local(e), view: { ...m.view }, moved: false };
    path = [start.at];
  });
  p.addEventListener("pointermove", (e) => {
    if (!m.pos) return;
    const at = local(e);
    if (!start) return m.hover(at);
    const dx = at[0] - start.at[0], dy = at[1] - start.at[1];
    if (Math.abs(dx) + Math.abs(dy) > 3) start.moved = true;
    if (m.mode === "click") {
      if (!start.moved) return;
      m.view = { ...start.view, cx: start.view.cx - dx / start.view.kx, cy: start.view.cy + dy / start.view.ky };
      m.keepView();
      m.redraw();
    } else {
      path.push(at);
      m.shape = m.mode === "box" ? { box: [start.at, at] } : { lasso: path };
      drawOverlay(m);
    }
  });
  p.addEventListener("pointerup", (e) => {
    if (!start) return;
    const s = start;
    start = null;
    const at = local(e);
    if (m.mode === "click") {
      if (!s.moved) m.click(at);
      return;
    }
    m.shape = null;
    if (!s.moved) return drawOverlay(m);
    const idx = m.mode === "box" ? inBox(m, s.at, at) : inPolygon(m, path);
    if (!idx.length) return drawOverlay(m); // an empty box keeps the selection, as a stray drag should
    // send first, draw after: the server lists the selection while the browser redraws the points
    m.send("select", { ...encodeIndices(idx, m.n), kind: m.mode, pos: m.pos.key });
    setTimeout(() => m.selectLocal(idx), 0);
  });
  p.addEventListener("wheel", (e) => {
    if (!m.pos) return;
    e.preventDefault();
    const [mx, my] = local(e);
    const f = Math.exp(-e.deltaY * 0.0015);
    const v = m.view;
    const dx = (mx - m.W / 2) / v.kx, dy = (m.H / 2 - my) / v.ky;
    m.view = { cx: v.cx + dx - dx / f, cy: v.cy + dy - dy / f, kx: v.kx * f, ky: v.ky * f };
    m.keepView();
    m.redraw();
  }, { passive: false });
  p.addEventListener("dblclick", () => m.resetView());
  p.addEventListener("pointerleave", () => { m.tip.style.display = "none"; });
}
