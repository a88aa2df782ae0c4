// The 2-D overlay above the points: rings around a small selection, search hits, the open source, and the
// box or lasso being drawn.

function ring(ctx, m, i, r, colour, width) {
  const v = m.view;
  const sx = (m.pos.x[i] - v.cx) * v.kx + m.W / 2, sy = m.H / 2 - (m.pos.y[i] - v.cy) * v.ky;
  if (sx < -r || sy < -r || sx > m.W + r || sy > m.H + r) return;
  ctx.beginPath();
  ctx.arc(sx, sy, r, 0, 2 * Math.PI);
  ctx.strokeStyle = colour;
  ctx.lineWidth = width;
  ctx.stroke();
}

export function drawOverlay(m) {
  const ctx = m.overlay.getContext("2d");
  ctx.setTransform(m.dpr, 0, 0, m.dpr, 0, 0);
  ctx.clearRect(0, 0, m.W, m.H);
  if (!m.pos || !m.vis) return;
  const half = m.pointSize() / 2;
  if (m.outline && m.flags) {
    for (let i = 0; i < m.n; i++) {
      if (m.flags[i] && m.vis[i]) ring(ctx, m, i, half * m.sizes[m.colour.c[i]] + 1.2, "rgba(0,0,0,0.6)", 1);
    }
  }
  for (const i of m.hits) if (i >= 0 && i < m.n) ring(ctx, m, i, Math.max(7, half + 4), "#FF8C00", 2);
  if (m.focus >= 0 && m.focus < m.n) {
    ring(ctx, m, m.focus, 10, "rgba(255,255,255,0.95)", 5);
    ring(ctx, m, m.focus, 10, "#111", 2);
  }
  if (m.shape) {
    ctx.setLineDash([4, 3]);
    ctx.strokeStyle = "#333";
    ctx.lineWidth = 1;
    ctx.fillStyle = "rgba(60,60,60,0.06)";
    ctx.beginPath();
    if (m.shape.box) {
      const [[ax, ay], [bx, by]] = m.shape.box;
      ctx.rect(Math.min(ax, bx), Math.min(ay, by), Math.abs(bx - ax), Math.abs(by - ay));
    } else {
      m.shape.lasso.forEach(([px, py], k) => (k ? ctx.lineTo(px, py) : ctx.moveTo(px, py)));
      ctx.closePath();
    }
    ctx.fill();
    ctx.stroke();
    ctx.setLineDash([]);
  }
}
