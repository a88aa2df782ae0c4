"""``EncoderInference``: the encoder of a trained ``SpectrumAutoencoder`` for inference, the same function as
``SpectrumAutoencoder.encode`` computed with fewer passes over memory.

Why a second path. At this model's shapes (1 + 14 tokens, d_model 64, 4 heads of 16) torch's generic layers spend
most of the encoder's time outside the matrix multiplies (measured with torch.profiler, one CPU thread): the
softmax kernel runs about 20 ns per element on rows of 15, the fused "fastpath" layer and the CPU
flash-attention kernel are built for long sequences, and every bias, residual and GELU is a separate pass over
freshly allocated memory. Here, per transformer layer:

- the query weights carry the attention's 1/sqrt(head_dim) (one multiply fewer);
- queries and keys come from one wide product (2d, d) @ (d, n * t), read per head as strided views; values
  from one batched multiply per head, each head's values contiguous; only the queries get a bias (the key bias
  cancels in the softmax, the value bias joins the output projection's);
- attention is one product per head for the scores and one batched product over (heads x spectra) for the
  values, with exp() on the unshifted scores, row sums by a matrix-vector product and the normalisation applied
  where the heads are copied side by side (``core.model.attention``; blocks whose sums leave [1e-30, 1e30] use
  torch's softmax);
- the output projection and the second feed-forward matrix add into the residual stream in place (``addmm_``,
  no copy of the stream); biases and GELU run in place on the feed-forward buffer;
- the last layer computes keys and values for every token but the rest for the pooling token alone: the
  latent is read from its output and nothing else (``pool_only_last``; ~22% fewer products per spectrum);
- on a CPU the layer norms (with the residual stream's next bias added in the same pass), the bias before each
  GELU, and attention with its softmax and the heads' copy run as fused C kernels (``core.model.kernels``,
  compiled on first use; ``kernels`` picks them or torch's operators, the same function to float32 rounding);
- spectra go through in chunks (512 by default), each thread writing into its own buffers, kept from chunk to
  chunk (``_Workspace``); chunks run side by side on ``threads`` threads of a pool kept by the object.

Dropout is off (inference). The result matches ``encode`` in eval mode to float32 rounding (tests/test_inference.py).
The weights are copied when the object is built, so build it after training: it does not follow later updates.
On a GPU, attention runs through torch's ``scaled_dot_product_attention`` (``sdpa``), ``bf16=True`` runs the
matrix multiplies in bfloat16 under ``torch.autocast`` (latents then differ from float32 by about 1e-2 relative;
float32 stays the default everywhere), and ``compile=True`` puts each chunk through ``torch.compile``. None of the
three has been measured on a GPU here (none was lent); on this CPU the C kernels are the fastest.
"""
from __future__ import annotations

import math
import threading
from concurrent.futures import ThreadPoolExecutor

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from core.model.attention import attend
from core.model.autoencoder import SpectrumAutoencoder
from core.model.instrument import Instrument
from core.model.kernels import Kernels, choose_kernels


class _Layer:
    """One pre-norm ``nn.TransformerEncoderLayer``'s weights, laid out for ``EncoderInference``."""

    def __init__(self, layer: nn.TransformerEncoderLayer, n_heads: int) -> None:
        attn = layer.self_attn
        d = attn.embed_dim
        hd = d // n_heads
        w_qkv = attn.in_proj_weight.detach().clone()  # (3d, d): rows q, k, v; within each, head-major
        b_qkv = attn.in_proj_bias.detach().clone()
        w_qkv[:d] *= hd ** -0.5
        b_qkv[:d] *= hd ** -0.5
        # Queries and keys: one (2d, d) @ (d, n * t) product, each row of the result one component of one head's
        # queries or keys for every token (a single wide product ran at ~85-95% of the matrix-multiply speed where
        # a batch of 12 narrow (n * t, hd) products reached ~67%); attention reads each head's rows as strided views.
        self.w_qk = w_qkv[:2 * d].contiguous()
        # Values: (heads, d, hd), one batched product writing each head's values contiguously (attention's second
        # product wants them so: read strided from the wide layout it ran at half speed).
        self.w_v = w_qkv[2 * d:].view(n_heads, hd, d).transpose(1, 2).contiguous()
        # Only the queries need their bias added. The key bias adds q . b_k to every score of a query's row,
        # which the softmax cancels; the value bias comes out of the attention unchanged (each row of weights
        # sums to 1), so it joins the output projection's bias as b_v @ W_out.
        self.b_q = b_qkv[:d].view(d, 1).clone()
        self.w_out = attn.out_proj.weight.detach().t().contiguous()
        self.b_out = attn.out_proj.bias.detach() + b_qkv[2 * d:] @ self.w_out
        self.w_ff1 = layer.linear1.weight.detach().t().contiguous()
        self.b_ff1 = layer.linear1.bias.detach().clone()
        self.w_ff2 = layer.linear2.weight.detach().t().contiguous()
        self.b_ff2 = layer.linear2.bias.detach().clone()
        self.norm1 = (layer.norm1.weight.detach().clone(), layer.norm1.bias.detach().clone(), layer.norm1.eps)
        self.norm2 = (layer.norm2.weight.detach().clone(), layer.norm2.bias.detach().clone(), layer.norm2.eps)


class _Workspace:
    """One thread's buffers for chunks of ``n`` spectra, written by every chunk that thread encodes (float32).

    Without them each operator's output of 0.5-8 MB was a fresh allocation that glibc's malloc took from the system
    and gave back, page faults and all: measured on one thread, chunks of 256 or more ran either at ~16,500 or at
    ~9,500 spectra/s depending on the allocator's state (issue 11's third pass). The attention's buffers lie one
    after the other in one block and the feed-forward buffer reuses that block (they are dead by then), so that a
    chunk touches ~8 MB less (issue 11's fourth pass: +0.7% on one thread, +1.4% on two, paired medians)."""

    def __init__(self, n: int, t: int, d: int, h: int, d_ff: int, device: torch.device) -> None:
        def empty(*shape: int) -> Tensor:
            return torch.empty(*shape, dtype=torch.float32, device=device)

        nt = n * t
        self.x = empty(nt, d)
        self.y = empty(nt, d)  # a layer norm's output (the fused kernel writes into it)
        sizes = {"qk": (2 * d, nt), "v": (h, nt, d // h), "scores": (h * n, t, t), "attended": (h * n, t, d // h),
                 "heads": (nt, d)}
        numel = {k: math.prod(v) for k, v in sizes.items()}
        block = empty(max(sum(numel.values()), nt * d_ff))
        at = 0
        for name, shape in sizes.items():
            setattr(self, name, block[at:at + numel[name]].view(shape))
            at += numel[name]
        self.ff = block[:nt * d_ff].view(nt, d_ff)
        # (no buffer for the layer norms: their out= variant computes into a new tensor and copies it over)


class EncoderInference:
    """``EncoderInference(model)(counts, background, weights, instrument, index)`` -> latents (N, D), as
    ``model.encode`` in eval mode returns them."""

    def __init__(self, model: SpectrumAutoencoder, chunk: int = 512, bf16: bool = False, threads: int = 1,
                 pool_only_last: bool = True, kernels: str | None = None, sdpa: bool | None = None,
                 compile: bool = False) -> None:
        """``pool_only_last``: the last layer for the pooling token alone (the same latents, fewer products);
        False runs every token through every layer, as ``model.encode`` does (the benchmark measures both).
        ``kernels``: "c" (the fused C kernels, or KernelsUnavailable saying why not), "torch" (torch's operators)
        or "auto" (C where they build, else torch, the reason in ``kernels_note``); default $XLE_KERNELS or
        "auto". Only float32 on a CPU uses them: bf16 and GPUs run torch's operators. ``sdpa``: attention by
        torch's ``scaled_dot_product_attention`` (batched over spectra and heads; its fused GPU kernels) where the C
        kernels do not run; default: on a GPU only (on this CPU it ran at half the speed of the products per head).
        ``compile``: the chunk's computation through ``torch.compile`` (inductor fuses the element-wise steps;
        meant for GPUs: on this CPU it was slower than the C kernels); torch operators then, no C kernels."""
        layers = model.transformer.layers
        if any(not (lay.norm_first and lay.activation_relu_or_gelu == 2) for lay in layers):
            raise ValueError("EncoderInference needs pre-norm GELU transformer layers (the model's own)")
        if chunk < 1:
            raise ValueError(f"chunk={chunk}: must be at least 1")
        if threads < 1:
            raise ValueError(f"threads={threads}: must be at least 1")
        self.model, self.chunk, self.bf16, self.threads = model, chunk, bf16, threads
        self.pool_only_last = pool_only_last
        if compile and kernels == "c":
            raise ValueError("compile=True runs torch operators: it cannot take kernels='c'")
        device = next(model.parameters()).device.type
        self._k, self.kernels_note = choose_kernels("torch" if compile else kernels, bf16, device)
        self.compile = compile
        # fresh tensors, no workspace, under torch.compile (its graphs own their buffers); shapes fixed per chunk size
        self._run = torch.compile(self._encode, dynamic=False) if compile else self._encode
        self.kernels = "torch" if self._k is None else "c"
        # under torch.compile too: the products-per-head attention checks its sums on the host (a graph break)
        self.sdpa = (compile or device != "cpu") if sdpa is None else sdpa
        self._local = threading.local()  # each thread's _Workspaces (full chunks, the latest other size)
        self._pool: ThreadPoolExecutor | None = None  # threads > 1: kept, so that their workspaces are too
        self.n_heads = model.config.n_heads
        self.layers = [_Layer(lay, self.n_heads) for lay in layers]
        with torch.no_grad():
            # token embedding: tokens @ w_token + (its bias + the token energies' embedding, the same for every
            # spectrum), one product and one add (nn.Linear's broadcast of its bias was a slow extra pass)
            self.w_token = model.token_in.weight.detach().t().contiguous()
            self.b_token = model.token_in.bias + model.energy_in(model.token_energy)  # (T, d)
            # the response seen when none is given, computed once rather than per chunk
            self.reference_area = model.reference_area()[None] if model.n_features == 4 else None

    def __call__(self, counts: Tensor, background: Tensor, weights: Tensor | None = None,
                 instrument: Instrument | None = None, index: Tensor | None = None) -> Tensor:
        """Latents (N, D). With ``threads`` > 1 the chunks are encoded side by side on that many threads (torch
        releases the GIL inside its operators), torch's own per-operator threading set to one thread meanwhile
        (process-wide, restored after); each chunk's latents do not depend on the thread that computed them."""
        m = self.model
        with torch.no_grad():
            area = instrument.area(index) if instrument is not None and m.n_features == 4 else None

        def one(i: int) -> Tensor:
            sl = slice(i, i + self.chunk)
            # inference_mode: no autograd bookkeeping per operator (the latents leave it through torch.cat)
            with torch.inference_mode(), torch.autocast(counts.device.type, dtype=torch.bfloat16,
                                                        enabled=self.bf16):
                return self._run(counts[sl], background[sl], None if weights is None else weights[sl],
                                 self.reference_area if area is None else area[sl]).float()

        starts = range(0, len(counts), self.chunk)
        if self.threads > 1 and len(starts) > 1:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="encoder")
            before = torch.get_num_threads()
            torch.set_num_threads(1)
            try:
                out = list(self._pool.map(one, starts))
            finally:
                torch.set_num_threads(before)
        else:
            out = [one(i) for i in starts]
        return torch.cat(out) if out else torch.empty(0, m.config.latent_dim, device=counts.device)

    def _workspace(self, n: int, device: torch.device) -> _Workspace | None:
        """This thread's buffers for chunks of n spectra; None under bf16 (autocast picks the dtypes there). Kept:
        those for full chunks and those for the latest other size (a call's last chunk), not one per size seen."""
        if self.bf16 or self.compile:
            return None
        spaces = self._local.__dict__.setdefault("spaces", {})
        key = ("full" if n == self.chunk else "last", device)
        if key not in spaces or spaces[key][0] != n:
            c = self.model.config
            spaces[key] = (n, _Workspace(n, c.n_tokens + 1, c.d_model, self.n_heads, self.layers[0].w_ff1.shape[1],
                                         device))
        return spaces[key][1]

    def _encode(self, counts: Tensor, background: Tensor, weights: Tensor | None, area: Tensor | None) -> Tensor:
        m = self.model
        tokens, level = m._inputs(counts, background, weights, area)
        pool = (m.pool_token + m.level_in(level))[:, None, :]  # (n, 1, d)
        n, t_in, k = tokens.shape
        embedded = torch.mm(tokens.reshape(n * t_in, k), self.w_token).view(n, t_in, -1)
        if embedded.dtype != self.b_token.dtype:  # autocast gave bfloat16: keep the residual stream in float32
            embedded, pool = embedded.float(), pool.float()
        embedded += self.b_token
        ws = self._workspace(n, counts.device)
        x = torch.cat([pool, embedded], dim=1, out=None if ws is None else ws.x.view(n, t_in + 1, -1))  # (n, t, d)
        n, t, d = x.shape
        x = x.view(n * t, d)
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            x = self._layer(layer, x, n, t, ws, pool_only=self.pool_only_last and i == last)
        pooled = x if self.pool_only_last and self.layers else x.view(n, t, d)[:, 0]  # (n, d)
        return m.to_latent(m.norm(pooled))

    def _layer(self, w: _Layer, x: Tensor, n: int, t: int, ws: _Workspace | None, pool_only: bool = False) -> Tensor:
        """One layer on the residual stream x (n * t, d). ``pool_only``: only the pooling token's output is
        wanted (the last layer: the latent is read from it), so keys and values come from every token but the
        query, the output projection and the feed-forward block from that token alone; returns (n, d) then."""
        d = x.shape[1]
        h = self.n_heads
        hd = d // h
        nt = n * t
        y = self._norm(x, w.norm1, w.b_out, None if ws is None else ws.y)  # and x += the output projection's bias
        # (2d, n * t): rows (q/k, head, hd), columns (spectrum, token); then each head's queries as (n, tq, hd)
        # and keys as (n, hd, t) views of it
        if pool_only:
            keys = torch.mm(w.w_qk[d:], y.t(), out=None if ws is None else ws.qk[d:])
            queries = torch.mm(w.w_qk[:d], y.view(n, t, d)[:, 0].t())  # (d, n): the pooling token's
            rows, tq = x.view(n, t, d)[:, 0], 1  # the stream's rows that go on: a view, updated in place
        else:
            qk = torch.mm(w.w_qk, y.t(), out=None if ws is None else ws.qk)
            queries, keys, rows, tq = qk[:d], qk[d:], x, t
        queries += w.b_q
        v = torch.bmm(y.expand(h, nt, d), w.w_v, out=None if ws is None else ws.v)  # y broadcast, not copied
        full = ws is not None and not pool_only  # the workspace's buffers are sized for every token
        if self._k is not None and ws is not None and t <= 16:  # attention, softmax and the heads' copy in C
            attended = (self._k.attend_one(queries, keys, v, torch.empty(n, d, dtype=x.dtype)) if pool_only
                        else self._k.attend_all(ws.qk, v, ws.heads, n))
        elif self.sdpa:  # (n, h, tq or t, hd), copied (inductor mis-sized the strided views); scale in the queries
            attended = F.scaled_dot_product_attention(
                queries.view(h, hd, n, tq).permute(2, 0, 3, 1).contiguous(),
                keys.view(h, hd, n, t).permute(2, 0, 3, 1).contiguous(),
                v.view(h, n, t, hd).transpose(0, 1).contiguous(), scale=1.0).transpose(1, 2).reshape(n * tq, d)
        else:
            q = queries.view(h, hd, n, tq).permute(0, 2, 3, 1)  # (h, n, tq, hd), strides (hd*n*tq, tq, 1, n*tq)
            k = keys.view(h, hd, n, t).permute(0, 2, 1, 3)  # (h, n, hd, t), strides (hd * nt, t, nt, 1)
            attended, scale = attend(q, k, v.view(h * n, t, hd), ws.scores if full else None,
                                     ws.attended if full else None)  # (heads * n, tq, hd), (heads * n, tq, 1)
            # heads side by side, (n * tq, d), each row times its softmax normalisation on the way
            attended = self._heads(attended.view(h, n * tq, hd), scale.view(h, n * tq), ws.heads if full else None)
        rows = self._add_product(rows, attended, w.w_out)
        y = self._norm(rows, w.norm2, w.b_ff2, None if ws is None else ws.y[:len(rows)])  # and rows += b_ff2
        ff = torch.mm(y, w.w_ff1, out=ws.ff if full else None)
        if self._k is not None:
            ff = self._k.bias_gelu_(ff, w.b_ff1)
        else:
            ff += w.b_ff1  # addmm's own broadcast of this bias took longer than the product
            ff = torch.ops.aten.gelu_(ff)
        return self._add_product(rows, ff, w.w_ff2)

    def _norm(self, x: Tensor, norm: tuple[Tensor, Tensor, float], add: Tensor, out: Tensor | None) -> Tensor:
        """layer_norm(x); then x += add (the residual stream's next bias: nothing reads x in between)."""
        if self._k is not None and out is not None:
            return self._k.layer_norm(x, *norm, out=out, add=add)
        y = F.layer_norm(x, (x.shape[1],), norm[0], norm[1], eps=norm[2])
        x += add
        return y

    def _heads(self, attended: Tensor, scale: Tensor, out: Tensor | None) -> Tensor:
        """(rows, h * hd) from attended (h, rows, hd) and scale (h, rows): the heads side by side, each row of a
        head times its scale."""
        h, rows, hd = attended.shape
        if self._k is not None:
            out = torch.empty(rows, h * hd, dtype=attended.dtype) if out is None else out
            return self._k.heads_scaled(attended, scale, out)
        by_token = torch.mul(attended.transpose(0, 1), scale.transpose(0, 1)[..., None],
                             out=None if out is None else out.view(rows, h, hd))
        return by_token.reshape(rows, h * hd)

    def _add_product(self, x: Tensor, a: Tensor, w: Tensor) -> Tensor:
        """x + a @ w into the float32 residual stream x: in place, or (bf16) the product under autocast."""
        if self.bf16:
            return x + torch.mm(a, w).float()
        return x.addmm_(a, w)
