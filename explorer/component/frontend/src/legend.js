// The legend (colour by class: click a class to hide or show it) or the colour bar (numeric colouring).

export function buildLegend(m) {
  const meta = m.colour.meta;
  const sig = `${m.colour.key}|${[...m.hidden].join(",")}`;
  if (m.legendSig === sig) return;
  m.legendSig = sig;
  const box = m.legend;
  box.textContent = "";
  if (meta.mode === "class") {
    const t = document.createElement("span");
    t.textContent = "click to hide:";
    t.style.color = "#666";
    box.appendChild(t);
    for (const item of meta.legend) {
      if (!item.count) continue;
      const s = document.createElement("span");
      s.className = `item${m.hidden.has(item.code) ? " off" : ""}`;
      s.dataset.cls = item.name;
      const sw = document.createElement("i");
      sw.style.background = item.colour;
      s.appendChild(sw);
      s.appendChild(document.createTextNode(`${item.name} (${item.count.toLocaleString("en-US")})`));
      s.onclick = () => {
        if (m.hidden.has(item.code)) m.hidden.delete(item.code);
        else m.hidden.add(item.code);
        buildLegend(m);
        m.visibility();
        m.redraw();
      };
      box.appendChild(s);
    }
  } else {
    const bar = document.createElement("span");
    bar.className = "xle-bar";
    const fmt = (v) => Number(v).toPrecision(3);
    const grad = document.createElement("b");
    grad.style.background = `linear-gradient(to right, ${meta.stops.join(",")})`;
    bar.append(`${meta.title}: ${fmt(meta.lo)}`, grad, `${fmt(meta.hi)}`);
    if (meta.nan) {
      const sw = document.createElement("i");
      sw.style.background = "#C8C8C8";
      bar.append(sw, `n/a (${meta.nan.toLocaleString("en-US")})`);
    }
    box.appendChild(bar);
  }
}
