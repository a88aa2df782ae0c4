"""The encoder's fused C kernels (core.model.kernels): the same results as the torch operators they replace,
their argument checks, the compiled library's cache, and what happens where no compiler works."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from core.errors import ConfigError
from core.model import ModelConfig, SpectrumAutoencoder
from core.model import kernels as K
from core.model.inference import EncoderInference
from core.model.kernels import choose_kernels, kernels_summary


@pytest.fixture(scope="module")
def kern() -> K.Kernels:
    try:
        return K.load()
    except K.KernelsUnavailable as e:  # a machine without a C compiler: torch's operators are tested elsewhere
        pytest.skip(f"the C kernels cannot be built here: {e}")


@pytest.mark.parametrize("m", [256, 21, 1])  # whole vectors, a tail of 5 columns, one column
def test_bias_gelu_is_torchs_gelu_of_x_plus_bias(kern, m):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(300, m, generator=g) * 4
    x[0, :] = 0.0
    x[1, :] = 30.0  # erf saturates, exp(-z^2) far below float32's range
    x[2, :] = -30.0
    b = torch.randn(m, generator=g)
    want = F.gelu(x + b)
    got = kern.bias_gelu_(x.clone(), b)
    assert torch.allclose(got, want, atol=2e-6, rtol=1e-5), float((got - want).abs().max())


def test_bias_gelu_on_rows_of_a_wider_buffer_and_special_values(kern):
    wide = torch.randn(40, 48)
    view = wide[:, 8:40]  # rows 48 floats apart
    before = wide.clone()
    b = torch.zeros(32)
    want = F.gelu(view)
    kern.bias_gelu_(view, b)
    assert torch.allclose(view, want, atol=2e-6, rtol=1e-5)
    assert torch.equal(wide[:, :8], before[:, :8]) and torch.equal(wide[:, 40:], before[:, 40:])
    special = torch.tensor([[float("nan"), float("inf"), float("-inf"), 0.0]])
    got = kern.bias_gelu_(special.clone(), torch.zeros(4))
    assert got[0, 0].isnan() and got[0, 2].isnan() and got[0, 3] == 0  # +inf: NaN (as torch) or inf (generic C)


def test_layer_norm_and_the_added_bias(kern):
    g = torch.Generator().manual_seed(1)
    x = torch.randn(500, 64, generator=g) * 3 + 7
    w, b, add = (torch.randn(64, generator=g) for _ in range(3))
    want_y = F.layer_norm(x, (64,), w, b, eps=1e-5)
    got_x = x.clone()
    out = torch.empty(500, 64)
    got_y = kern.layer_norm(got_x, w, b, 1e-5, out=out, add=add)
    assert got_y is out
    assert torch.allclose(got_y, want_y, atol=1e-5, rtol=1e-5), float((got_y - want_y).abs().max())
    assert torch.allclose(got_x, x + add, atol=1e-6)
    same_x = x.clone()
    kern.layer_norm(same_x, w, b, 1e-5, out=out)  # no add: x untouched
    assert torch.equal(same_x, x)


def test_layer_norm_of_strided_rows(kern):
    stream = torch.randn(30, 15, 64)
    rows = stream[:, 0]  # the pooling token's rows, 15 * 64 floats apart
    w, b, add = torch.rand(64) + 0.5, torch.randn(64), torch.randn(64)
    want = F.layer_norm(rows, (64,), w, b, eps=1e-5)
    others = stream[:, 1:].clone()
    got = kern.layer_norm(rows, w, b, 1e-5, out=torch.empty(30, 64), add=add)
    assert torch.allclose(got, want, atol=1e-5, rtol=1e-5)
    assert torch.equal(stream[:, 1:], others)  # only the rows given are changed


def test_heads_side_by_side_with_their_scale(kern):
    a, s = torch.randn(4, 90, 16), torch.rand(4, 90)
    want = (a * s[..., None]).transpose(0, 1).reshape(90, 64)
    assert torch.equal(kern.heads_scaled(a, s, torch.empty(90, 64)), want)


def test_arguments_are_checked_before_the_pointer_is_used(kern):
    with pytest.raises(ValueError, match="float32"):
        kern.bias_gelu_(torch.zeros(3, 4, dtype=torch.float64), torch.zeros(4))
    with pytest.raises(ValueError, match="bias: shape"):
        kern.bias_gelu_(torch.zeros(3, 4), torch.zeros(5))
    with pytest.raises(ValueError, match="contiguous rows"):
        kern.bias_gelu_(torch.zeros(4, 3).t(), torch.zeros(4))
    with pytest.raises(ValueError, match="overlaps"):
        x = torch.zeros(3, 4)
        kern.layer_norm(x, torch.ones(4), torch.zeros(4), 1e-5, out=x)
    with pytest.raises(ValueError, match="out: shape"):
        kern.heads_scaled(torch.zeros(2, 3, 4), torch.zeros(2, 3), torch.empty(3, 9))
    with pytest.raises(ValueError, match="bias: must be contiguous"):  # a stride-0 bias would be read past its end
        kern.bias_gelu_(torch.zeros(3, 4), torch.zeros(1).expand(4))
    with pytest.raises(ValueError, match="overlaps"):  # strided rows that reach into out
        a = torch.zeros(32)
        kern.layer_norm(a.view(8, 4)[0::4], torch.ones(4), torch.zeros(4), 1e-5, out=a[12:20].view(2, 4))


def test_the_library_is_compiled_once_into_its_cache_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("XLE_CACHE", str(tmp_path))
    path = K.library_path()
    assert path.parent == tmp_path / "kernels" and not path.exists()
    kern = K.load()
    assert kern.path == path and path.exists()
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left
    mtime = path.stat().st_mtime_ns
    assert K.load() is kern and path.stat().st_mtime_ns == mtime
    # another source (or compiler, flags, CPU) is another library
    assert K._library_path(("cc",), tmp_path, "int x;") != K._library_path(("cc",), tmp_path, "int y;")


def test_without_a_working_compiler_auto_says_why_and_c_refuses(tmp_path, monkeypatch):
    monkeypatch.setenv("XLE_CACHE", str(tmp_path))
    monkeypatch.setenv("CC", str(tmp_path / "no-such-cc"))
    with pytest.raises(K.KernelsUnavailable, match="no C compiler: .*no-such-cc"):
        K.load()
    monkeypatch.setenv("CC", "false")  # runs, fails
    with pytest.raises(K.KernelsUnavailable, match="compiling .*kernels.c failed"):
        K.load()
    assert not (tmp_path / "kernels").exists() or not list((tmp_path / "kernels").iterdir())
    torch.manual_seed(0)
    model = SpectrumAutoencoder(ModelConfig()).eval()
    with pytest.raises(K.KernelsUnavailable, match="compiling"):
        EncoderInference(model, kernels="c")
    enc = EncoderInference(model, kernels="auto")
    assert enc.kernels == "torch" and "the C kernels are unavailable: compiling" in enc.kernels_note
    assert "unavailable" in kernels_summary()
    counts = torch.poisson(torch.rand(20, 112) * 5)
    with torch.no_grad():
        want = model.encode(counts, torch.zeros(20, 112))
    assert torch.allclose(enc(counts, torch.zeros(20, 112)), want, atol=2e-5, rtol=1e-5)


def test_the_choice_of_kernels(kern):
    assert choose_kernels("torch")[1] == "torch operators (asked for)"
    assert choose_kernels("auto", bf16=True)[0] is None
    with pytest.raises(K.KernelsUnavailable, match="CPU only"):
        choose_kernels("c", device="cuda")
    with pytest.raises(ValueError, match="kernels='fast': must be one of auto, c, torch"):
        choose_kernels("fast")


def test_a_wrong_xle_kernels_is_a_one_line_error_of_encode(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XLE_KERNELS", "fast")
    with pytest.raises(ConfigError, match="XLE_KERNELS='fast': must be one of"):
        choose_kernels(None)
    from core.cli import main

    assert main(["encode", "--run", str(tmp_path)]) == 1
    assert capsys.readouterr().err.strip() == "error: XLE_KERNELS='fast': must be one of auto, c, torch"
    assert choose_kernels("c")[0] is not None


@pytest.mark.parametrize("h,n,t,hd", [(4, 37, 15, 16), (2, 5, 3, 8), (1, 2, 64, 4)])
def test_attention_of_one_query_per_spectrum(kern, h, n, t, hd):
    g = torch.Generator().manual_seed(2)
    q = torch.randn(h, n, hd, generator=g) * 3
    q[:, 0] *= 40  # scores in the hundreds: the softmax must shift them
    k = torch.randn(h, n, t, hd, generator=g)
    v = torch.randn(h, n, t, hd, generator=g)
    want = torch.softmax(torch.einsum("jic,jisc->jis", q, k), dim=-1)
    want = torch.einsum("jis,jisc->ijc", want, v).reshape(n, h * hd)
    queries = q.permute(0, 2, 1).reshape(h * hd, n).contiguous()  # the encoder's layouts
    keys = k.permute(0, 3, 1, 2).reshape(h * hd, n * t).contiguous()
    got = kern.attend_one(queries, keys, v.reshape(h, n * t, hd).contiguous(), torch.empty(n, h * hd))
    assert torch.allclose(got, want, atol=1e-5, rtol=1e-5), float((got - want).abs().max())
    with pytest.raises(ValueError, match="at most 64 tokens"):
        kern.attend_one(queries[:, :1], torch.zeros(h * hd, 65), torch.zeros(h, 65, hd), torch.empty(1, h * hd))


def _attention_all(q, k, v):
    """softmax(q k^T) v per head and spectrum, heads side by side: (n * t, h * hd)."""
    h, n, t, hd = q.shape
    w = torch.softmax(q @ k.transpose(-1, -2), dim=-1)
    return (w @ v).permute(1, 2, 0, 3).reshape(n * t, h * hd)


@pytest.mark.parametrize("h,n,t,hd", [(4, 37, 15, 16), (2, 1, 3, 8), (1, 3, 16, 5), (2, 4, 5, 16), (1, 2, 1, 1)])
def test_attention_of_every_token(kern, h, n, t, hd):
    g = torch.Generator().manual_seed(3)
    q, k, v = (torch.randn(h, n, t, hd, generator=g) * 2 for _ in range(3))
    q[:, 0, 0] *= 60  # scores in the hundreds for one query: its softmax must shift them
    qk = torch.cat([x.permute(0, 3, 1, 2).reshape(h * hd, n * t) for x in (q, k)]).contiguous()
    got = kern.attend_all(qk, v.reshape(h, n * t, hd).contiguous(), torch.empty(n * t, h * hd), n)
    want = _attention_all(q, k, v)
    assert torch.allclose(got, want, atol=1e-5, rtol=1e-5), float((got - want).abs().max())
    with pytest.raises(ValueError, match="at most 16 tokens"):
        kern.attend_all(torch.zeros(2 * h * hd, 17), torch.zeros(h, 17, hd), torch.empty(17, h * hd), 1)
