// A WebGL2 point renderer: one draw call over every point, in array order (later points on top).
// Per point: x, y (float32), a colour code (uint8, an index into a 256-entry palette texture whose second row
// holds a size factor) and a visibility byte (0 hidden, 1 dimmed, 2 shown). Only the buffer that changed is
// uploaded again.

const VS = `#version 300 es
in float a_x; in float a_y; in float a_c; in float a_v;
uniform vec2 u_scale; uniform vec2 u_offset; uniform float u_size; uniform sampler2D u_pal;
out vec4 v_col;
void main() {
  if (a_v < 0.5) { gl_Position = vec4(2.0, 2.0, 2.0, 1.0); gl_PointSize = 0.0; return; }
  vec4 c = texelFetch(u_pal, ivec2(int(a_c), 0), 0);
  float s = texelFetch(u_pal, ivec2(int(a_c), 1), 0).r * 4.0;
  v_col = vec4(c.rgb, c.a * (a_v < 1.5 ? 0.16 : 1.0));
  gl_Position = vec4(vec2(a_x, a_y) * u_scale + u_offset, 0.0, 1.0);
  gl_PointSize = max(1.0, u_size * s);
}`;
const FS = `#version 300 es
precision mediump float;
in vec4 v_col; out vec4 o;
void main() {
  vec2 p = gl_PointCoord * 2.0 - 1.0;
  float r = dot(p, p);
  if (r > 1.0) discard;
  o = vec4(v_col.rgb * v_col.a, v_col.a);
}`;

function compile(gl, type, src) {
  const s = gl.createShader(type);
  gl.shaderSource(s, src);
  gl.compileShader(s);
  if (!gl.getShaderParameter(s, gl.COMPILE_STATUS)) throw new Error(gl.getShaderInfoLog(s));
  return s;
}

export class Renderer {
  constructor(canvas) {
    const gl = canvas.getContext("webgl2", { antialias: false, preserveDrawingBuffer: true, premultipliedAlpha: true });
    if (!gl) throw new Error("WebGL2 is not available in this browser");
    this.gl = gl;
    this.canvas = canvas;
    const p = gl.createProgram();
    gl.attachShader(p, compile(gl, gl.VERTEX_SHADER, VS));
    gl.attachShader(p, compile(gl, gl.FRAGMENT_SHADER, FS));
    gl.linkProgram(p);
    if (!gl.getProgramParameter(p, gl.LINK_STATUS)) throw new Error(gl.getProgramInfoLog(p));
    this.prog = p;
    this.loc = {};
    for (const a of ["a_x", "a_y", "a_c", "a_v"]) this.loc[a] = gl.getAttribLocation(p, a);
    for (const u of ["u_scale", "u_offset", "u_size", "u_pal"]) this.loc[u] = gl.getUniformLocation(p, u);
    this.vao = gl.createVertexArray();
    this.bufs = {};
    this.owner = {}; // attribute -> the typed array last uploaded (identity: upload only what changed)
    this.tex = gl.createTexture();
    this.n = 0;
  }

  attribute(name, array, type) {
    const gl = this.gl;
    if (this.owner[name] === array) return;
    this.owner[name] = array;
    gl.bindVertexArray(this.vao);
    if (!this.bufs[name]) this.bufs[name] = gl.createBuffer();
    gl.bindBuffer(gl.ARRAY_BUFFER, this.bufs[name]);
    gl.bufferData(gl.ARRAY_BUFFER, array, gl.STATIC_DRAW);
    gl.enableVertexAttribArray(this.loc[name]);
    gl.vertexAttribPointer(this.loc[name], 1, type, false, 0, 0);
  }

  setPositions(x, y) {
    this.attribute("a_x", x, this.gl.FLOAT);
    this.attribute("a_y", y, this.gl.FLOAT);
    this.n = x.length;
  }

  setCodes(c) { this.attribute("a_c", c, this.gl.UNSIGNED_BYTE); }

  setVisibility(v) { this.attribute("a_v", v, this.gl.UNSIGNED_BYTE); }

  // palette: [[r, g, b, alpha, size factor], ...] (at most 256)
  setPalette(palette) {
    const gl = this.gl;
    const px = new Uint8Array(256 * 2 * 4);
    palette.forEach(([r, g, b, a, s], i) => {
      px.set([r, g, b, Math.round(a * 255)], 4 * i);
      px[4 * (256 + i)] = Math.min(255, Math.round((s / 4) * 255));
    });
    gl.bindTexture(gl.TEXTURE_2D, this.tex);
    gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA8, 256, 2, 0, gl.RGBA, gl.UNSIGNED_BYTE, px);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.NEAREST);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.NEAREST);
  }

  // view: {scale: [sx, sy], offset: [ox, oy]} in clip space; size: base point diameter in device pixels
  draw(view, size) {
    const gl = this.gl;
    gl.viewport(0, 0, this.canvas.width, this.canvas.height);
    gl.clearColor(0, 0, 0, 0);
    gl.clear(gl.COLOR_BUFFER_BIT);
    if (!this.n || !this.owner.a_c || !this.owner.a_v) return;
    gl.useProgram(this.prog);
    gl.enable(gl.BLEND);
    gl.blendFunc(gl.ONE, gl.ONE_MINUS_SRC_ALPHA);
    gl.uniform2fv(this.loc.u_scale, view.scale);
    gl.uniform2fv(this.loc.u_offset, view.offset);
    gl.uniform1f(this.loc.u_size, size);
    gl.activeTexture(gl.TEXTURE0);
    gl.bindTexture(gl.TEXTURE_2D, this.tex);
    gl.uniform1i(this.loc.u_pal, 0);
    gl.bindVertexArray(this.vao);
    gl.drawArrays(gl.POINTS, 0, this.n);
  }

  // Number of painted pixels in a coarse grid (a check that the canvas really drew, for tests).
  paintedPixels(step = 4) {
    const gl = this.gl;
    const w = this.canvas.width;
    const h = this.canvas.height;
    const px = new Uint8Array(w * h * 4);
    gl.readPixels(0, 0, w, h, gl.RGBA, gl.UNSIGNED_BYTE, px);
    let k = 0;
    for (let yy = 0; yy < h; yy += step) for (let xx = 0; xx < w; xx += step) if (px[4 * (yy * w + xx) + 3]) k++;
    return k;
  }

  // RGBA at a CSS pixel of the canvas (for tests: the colour under the cursor).
  pixel(cssX, cssY, dpr) {
    const gl = this.gl;
    const px = new Uint8Array(4);
    gl.readPixels(Math.round(cssX * dpr), this.canvas.height - 1 - Math.round(cssY * dpr), 1, 1, gl.RGBA,
      gl.UNSIGNED_BYTE, px);
    return Array.from(px);
  }
}
