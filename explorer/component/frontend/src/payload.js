// Reading the map payload (explorer/logic/scatter.py writes it) and keeping its layers between reruns.
//
// Layout: "XLE1", uint32 LE header length, JSON header, then 8-byte-aligned buffers; the header gives each
// layer's key and metadata, and its buffers as [offset from the end of the header, length, dtype] only when
// the browser did not hold that key yet.

const TYPES = { f4: Float32Array, u4: Uint32Array, u1: Uint8Array };
const KEEP = 4; // layers kept per kind (a few layouts, colourings and masks to come back to)
const cache = new Map(); // kind -> Map(key -> layer), in insertion (use) order

function remember(kind, key, layer) {
  let m = cache.get(kind);
  if (!m) cache.set(kind, (m = new Map()));
  m.delete(key);
  m.set(key, layer);
  while (m.size > KEEP) m.delete(m.keys().next().value);
}

function recall(kind, key) {
  const m = cache.get(kind);
  const layer = m && m.get(key);
  if (layer) { m.delete(key); m.set(key, layer); }
  return layer;
}

// Decode one payload: {header, layers: {kind: {key, meta, ...typed arrays}}, missing: [keys]}.
export function decode(data) {
  const u8 = data instanceof Uint8Array ? data : new Uint8Array(data);
  const magic = String.fromCharCode(u8[0], u8[1], u8[2], u8[3]);
  if (magic !== "XLE1") throw new Error(`not a map payload (magic ${magic})`);
  const hl = u8[4] | (u8[5] << 8) | (u8[6] << 16) | (u8[7] << 24);
  const header = JSON.parse(new TextDecoder().decode(u8.subarray(8, 8 + hl)));
  const base = u8.byteOffset + 8 + hl;
  const layers = {};
  const missing = [];
  for (const [kind, entry] of Object.entries(header.layers || {})) {
    let layer = null;
    if (entry.bufs) {
      layer = { key: entry.key, meta: entry.meta };
      for (const [name, [off, len, dt]] of Object.entries(entry.bufs)) {
        const T = TYPES[dt];
        // copy out: the payload's own buffer is not aligned for typed arrays and is not ours to keep
        layer[name] = new T(u8.buffer.slice(base + off, base + off + len));
      }
      remember(kind, entry.key, layer);
    } else {
      layer = recall(kind, entry.key);
      if (!layer) missing.push(entry.key);
      else layer.meta = entry.meta;
    }
    layers[kind] = layer;
  }
  return { header, layers, missing };
}

// Indices -> {codec, b64, n, count}: uint32 indices or one bit per point, whichever is smaller.
export function encodeIndices(idx, n) {
  let bytes;
  let codec;
  if (4 * idx.length <= (n + 7) >> 3) {
    codec = "u32";
    bytes = new Uint8Array(Uint32Array.from(idx).buffer);
  } else {
    codec = "bits";
    bytes = new Uint8Array((n + 7) >> 3);
    for (let k = 0; k < idx.length; k++) bytes[idx[k] >> 3] |= 1 << (idx[k] & 7);
  }
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  return { codec, b64: btoa(s), n, count: idx.length };
}

// The selection layer -> Uint8Array flags (one per point).
export function selectionFlags(layer, n) {
  const flags = new Uint8Array(n);
  if (!layer || !layer.data) return flags;
  if (layer.meta.codec === "u32") {
    const idx = layer.data; // a Uint32Array
    for (let k = 0; k < idx.length; k++) if (idx[k] < n) flags[idx[k]] = 1;
  } else {
    const bits = layer.data;
    for (let i = 0; i < n; i++) flags[i] = (bits[i >> 3] >> (i & 7)) & 1;
  }
  return flags;
}

// Whether two selection flag arrays (or nulls: no selection) select the same points.
export function sameFlags(a, b) {
  if (!a || !b) return a === b;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
