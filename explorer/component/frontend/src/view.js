// View transform (data -> CSS pixels of the plot) and the geometric queries on the visible points.
// A view is {cx, cy, kx, ky}: the data point at the plot's centre and pixels per data unit on each axis.

export function fitView([x0, x1, y0, y1], W, H, pad = 0.04) {
  const sx = x1 - x0 || 1, sy = y1 - y0 || 1;
  return { cx: (x0 + x1) / 2, cy: (y0 + y1) / 2, kx: (W * (1 - 2 * pad)) / sx, ky: (H * (1 - 2 * pad)) / sy };
}

// clip-space transform for the shader: clip = data * scale + offset
export function clipOf(v, W, H) {
  const sx = (2 * v.kx) / W, sy = (2 * v.ky) / H;
  return { scale: [sx, sy], offset: [-v.cx * sx, -v.cy * sy] };
}

function toData(v, W, H, px, py) {
  return [(px - W / 2) / v.kx + v.cx, (H / 2 - py) / v.ky + v.cy];
}

// The topmost visible point whose drawn disc holds the cursor (later points are drawn on top); when none
// does, the nearest visible point within 6 px; -1 when none. Hidden classes and filtered-out points
// (visibility 0) never catch a click.
export function pick(m, px, py) {
  if (!m.pos || !m.vis) return -1;
  const { x, y } = m.pos;
  const vis = m.vis, codes = m.colour.c, sizes = m.sizes, v = m.view;
  const [dx0, dy0] = toData(v, m.W, m.H, px, py);
  const half = m.pointSize() / 2;
  const far = Math.max(12, 3 * half) ** 2;
  let top = -1, near = -1, best = 36;
  for (let i = 0, n = x.length; i < n; i++) {
    if (!vis[i]) continue;
    const dx = (x[i] - dx0) * v.kx;
    if (dx * dx > far) continue;
    const dy = (y[i] - dy0) * v.ky;
    const d2 = dx * dx + dy * dy;
    const r = half * sizes[codes[i]] + 0.75;
    if (d2 <= r * r) top = i;
    else if (d2 < best) { best = d2; near = i; }
  }
  return top >= 0 ? top : near;
}

// Visible points inside the box between two plot pixels.
export function inBox(m, a, b) {
  const [xa, ya] = toData(m.view, m.W, m.H, a[0], a[1]);
  const [xb, yb] = toData(m.view, m.W, m.H, b[0], b[1]);
  const x0 = Math.min(xa, xb), x1 = Math.max(xa, xb), y0 = Math.min(ya, yb), y1 = Math.max(ya, yb);
  const { x, y } = m.pos;
  const out = [];
  for (let i = 0, n = x.length; i < n; i++) {
    if (m.vis[i] && x[i] >= x0 && x[i] <= x1 && y[i] >= y0 && y[i] <= y1) out.push(i);
  }
  return out;
}

// Visible points inside a closed lasso (plot pixels); even-odd rule, bounding box first.
export function inPolygon(m, path) {
  const poly = path.map(([px, py]) => toData(m.view, m.W, m.H, px, py));
  if (poly.length < 3) return [];
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  for (const [a, b] of poly) { x0 = Math.min(x0, a); x1 = Math.max(x1, a); y0 = Math.min(y0, b); y1 = Math.max(y1, b); }
  const { x, y } = m.pos;
  const out = [];
  const k = poly.length;
  for (let i = 0, n = x.length; i < n; i++) {
    const px = x[i], py = y[i];
    if (!m.vis[i] || px < x0 || px > x1 || py < y0 || py > y1) continue;
    let inside = false;
    for (let a = 0, b = k - 1; a < k; b = a++) {
      const [ax, ay] = poly[a], [bx, by] = poly[b];
      if ((ay > py) !== (by > py) && px < ((bx - ax) * (py - ay)) / (by - ay) + ax) inside = !inside;
    }
    if (inside) out.push(i);
  }
  return out;
}
