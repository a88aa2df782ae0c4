"""Attention for the encoder's inference path (``core.model.inference``): softmax(q k) v with the softmax's
normalisation left to the caller, for 15-token sequences where torch's row-wise softmax is slow."""
from __future__ import annotations

import torch
from torch import Tensor


def attend(q: Tensor, k: Tensor, v: Tensor, scores: Tensor | None = None,
            attended: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """softmax(q @ k) @ v for q (heads, n, tq, hd), k (heads, n, hd, t) (both of any strides; the scale is
    already in q) and v (heads * n, t, hd), returned as (A, r) with A (heads * n, tq, hd) and r (heads * n, tq, 1)
    such that the result is A * r: the caller applies r where it copies the heads side by side, one pass instead
    of normalising the (t, t) weights and then copying.

    Any shift of a row's scores gives the same softmax; the usual shift by the row's largest score only keeps
    exp() in range. At t = 15 the row-wise reductions took most of the softmax's time, so the scores are not
    shifted: exp() runs on them as they are, the row sums come from one matrix-vector product, and only rows whose
    sum leaves [1e-30, 1e30] (a score above ~69 or every score below ~-69; never seen on the demo) have their
    block computed again with torch's row-wise softmax (then r = 1 there). The bound 1e30 also keeps the
    unnormalised A finite for any |v| below ~1e8. ``scores``, ``attended``: where to write them."""
    h, n, tq, t = q.shape[0], q.shape[1], q.shape[2], k.shape[3]
    s = torch.empty(h, n, tq, t, dtype=v.dtype, device=v.device) if scores is None else scores.view(h, n, tq, t)
    for j in range(h):  # one product per head: q and k are strided views, which a batch over heads cannot be
        torch.bmm(q[j], k[j], out=s[j])
    s = s.view(h * n, tq, t)
    s.exp_()
    sums = torch.mv(s.view(h * n * tq, t), torch.ones(t, dtype=s.dtype, device=s.device)).view(h * n, tq, 1)
    if n:
        low, high = torch.stack(torch.aminmax(sums)).tolist()  # one device sync
        if not (low >= 1e-30 and high <= 1e30):  # also true for NaN
            bad = ~((sums >= 1e-30) & (sums <= 1e30)).view(h, n, tq).all(dim=2)  # (heads, n) blocks
            s.view(h, n, tq, t)[bad] = torch.softmax(torch.matmul(q[bad], k[bad]), dim=-1)
            sums.view(h, n, tq)[bad] = 1.0
    return torch.bmm(s, v, out=attended), sums.reciprocal_()
