// The map element's styles (the element is not style-isolated, so every rule is under .xle-scatter).
export const CSS = `
.xle-scatter { position: relative; width: 100%; user-select: none; font: 12px "Source Sans Pro", sans-serif; }
.xle-scatter canvas { position: absolute; left: 0; top: 0; width: 100%; height: 100%; }
.xle-scatter .xle-plot { position: absolute; left: 0; right: 0; top: 60px; bottom: 18px; }
.xle-scatter .xle-legend { position: absolute; left: 0; top: 0; right: 170px; height: 58px; overflow: hidden;
  display: flex; flex-wrap: wrap; gap: 2px 10px; align-items: center; }
.xle-scatter .xle-legend span.item { cursor: pointer; white-space: nowrap; }
.xle-scatter .xle-legend span.item.off { opacity: 0.35; text-decoration: line-through; }
.xle-scatter .xle-legend i { display: inline-block; width: 10px; height: 10px; border-radius: 5px; margin-right: 4px; }
.xle-scatter .xle-bar { display: flex; gap: 6px; align-items: center; }
.xle-scatter .xle-bar b { display: inline-block; width: 160px; height: 10px; }
.xle-scatter .xle-tools { position: absolute; right: 0; top: 0; display: flex; gap: 4px; }
.xle-scatter .xle-count { align-self: center; color: #444; margin-right: 4px; }
.xle-scatter .xle-tools button { font-size: 12px; padding: 2px 6px; border: 1px solid #ccc; background: #fff;
  border-radius: 4px; cursor: pointer; }
.xle-scatter .xle-axis { position: absolute; color: #555; pointer-events: none; }
.xle-scatter .xle-tip { position: absolute; pointer-events: none; background: rgba(255,255,255,0.92);
  border: 1px solid #bbb; padding: 2px 6px; border-radius: 3px; display: none; white-space: nowrap; }
.xle-scatter .xle-note { position: absolute; left: 8px; bottom: 20px; color: #b00; }`;
