"""The encoder's fused CPU kernels (``kernels.c`` beside this file): compiled on first use by the machine's C
compiler for the machine it runs on, kept in a cache folder, loaded with ctypes.

Why C. What was left of the encoder's time outside its large matrix products was passes of torch operators over
the same memory (a layer norm, the bias before each GELU, the residual stream's biases, the copy of attention's
heads side by side) and attention over 15 tokens, which torch runs as many tiny batched products (the last
layer's, one query per spectrum, as thousands). torch offers no fused form of these on the CPU without a compiler
at run time (``torch.compile``'s kernels were slower here: docs/parallel.md). Each kernel does in one pass what
took two or more, to float32 rounding of the same results (tests/test_kernels.py).

``load()`` returns the loaded kernels or raises ``KernelsUnavailable`` naming the reason (no compiler, a compiler
error, a library that does not load). The compiled library is named by a hash of the source, the flags, the
compiler's version and the CPU's model and flags, so that a changed source, compiler or machine (a shared home
folder on a cluster) compiles again; it is written under a temporary name and renamed, so that two processes
compiling at once never load half a file. The folder: ``kernels`` in the project's cache (``$XLE_CACHE``, else
the OS's cache folder, where downloads are kept too). The compiler: ``$CC``, else ``cc``.
"""
from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import platform
import shlex
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

import torch
from torch import Tensor

from core.data.fetch import cache_dir as project_cache
from core.errors import ConfigError, XLEError

SOURCE = Path(__file__).with_name("kernels.c")
FLAGS = ("-O3", "-march=native", "-fno-math-errno", "-fopenmp-simd", "-shared", "-fPIC")
X86_FLAGS = ("-mprefer-vector-width=512",)  # compilers default to 256-bit vectors on AVX-512 machines
COMPILE_TIMEOUT_S = 120
KERNEL_CHOICES = ("auto", "c", "torch")


class KernelsUnavailable(XLEError):
    """The C kernels cannot be compiled or loaded here; the message says why."""


def cache_dir() -> Path:
    """The project's cache folder (``$XLE_CACHE``, else the OS's; the downloads' too), subfolder kernels."""
    return project_cache() / "kernels"


def _compiler() -> list[str]:
    cc = shlex.split(os.environ.get("CC") or "cc")
    if not cc or shutil.which(cc[0]) is None:
        raise KernelsUnavailable(f"no C compiler: {cc[0] if cc else '$CC (empty)'} is not on the PATH "
                                 "(set CC to one, or install gcc)")
    return cc


def _flags() -> tuple[str, ...]:
    return FLAGS + (X86_FLAGS if platform.machine().lower() in ("x86_64", "amd64") else ())


def _cpu() -> str:
    """The CPU's model and feature flags (Linux), so that a library built with -march=native for one CPU is
    never loaded on another."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return platform.processor()
    keep = ("model name", "flags", "Features", "CPU part")
    return "\n".join(sorted({ln for ln in lines if ln.split(":")[0].strip() in keep}))


def _run(cmd: list[str]) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=COMPILE_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise KernelsUnavailable(f"the C compiler {cmd[0]} did not run: {e}") from None


def library_path() -> Path:
    """Where the library for this source, compiler and machine is (or will be) kept."""
    return _library_path(tuple(_compiler()), cache_dir(), SOURCE.read_text())


@functools.lru_cache(maxsize=8)
def _library_path(cc: tuple[str, ...], folder: Path, source: str) -> Path:
    version = _run([*cc, "--version"]).stdout
    key = "\n".join([source, " ".join(cc), " ".join(_flags()), version, platform.machine(), _cpu()])
    return folder / f"xle_kernels_{hashlib.sha256(key.encode()).hexdigest()[:16]}.so"


def _build(path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise KernelsUnavailable(f"cannot create the kernels' cache folder {path.parent}: {e}") from None
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)  # unique across hosts
    os.close(fd)
    tmp = Path(name)
    try:
        done = _run([*_compiler(), *_flags(), "-o", str(tmp), str(SOURCE)])
        if done.returncode != 0:
            raise KernelsUnavailable(f"compiling {SOURCE} failed ({' '.join(_compiler())}, exit "
                                     f"{done.returncode}): {done.stderr.strip()[-2000:]}")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


class Kernels:
    """The loaded library's functions, each with its arguments checked (a wrong pointer would crash the
    process, not raise)."""

    def __init__(self, path: Path) -> None:
        try:
            lib = ctypes.CDLL(str(path))
        except OSError as e:
            raise KernelsUnavailable(f"the compiled kernels {path} do not load: {e}") from None
        p, i64, f32 = ctypes.c_void_p, ctypes.c_int64, ctypes.c_float
        lib.bias_gelu.argtypes = [p, i64, p, i64, i64]
        lib.layer_norm.argtypes = [p, i64, p, i64, p, p, f32, p, i64, i64]
        lib.heads_scaled.argtypes = [p, p, p, i64, i64, i64]
        lib.attend_one.argtypes = [p, p, p, p, p, i64, i64, i64, i64]
        lib.attend_all.argtypes = [p, p, p, i64, i64, i64, i64]
        for f in (lib.bias_gelu, lib.layer_norm, lib.heads_scaled, lib.attend_one, lib.attend_all):
            f.restype = None
        self.path, self._lib = path, lib

    def bias_gelu_(self, x: Tensor, bias: Tensor) -> Tensor:
        """x = gelu(x + bias) in place, x (n, m) with unit column stride, bias (m,); returns x."""
        n, m = x.shape
        _check(x, "x", rows=True)
        _check(bias, "bias", contiguous=True, shape=(m,))
        self._lib.bias_gelu(x.data_ptr(), x.stride(0), bias.data_ptr(), n, m)
        return x

    def layer_norm(self, x: Tensor, weight: Tensor, bias: Tensor, eps: float, out: Tensor,
                   add: Tensor | None = None) -> Tensor:
        """out = layer_norm(x) * weight + bias over x's rows (n, d), unit column strides; then x += add on every
        row when ``add`` (d,) is given (in the same pass). Returns out."""
        n, d = x.shape
        _check(x, "x", rows=True)
        _check(out, "out", rows=True, shape=(n, d))
        for name, v in (("weight", weight), ("bias", bias), ("add", add)):
            if v is not None:
                _check(v, name, contiguous=True, shape=(d,))
        (x0, x1), (o0, o1) = _span(x), _span(out)
        if n and o0 < x1 and x0 < o1:
            raise ValueError("layer_norm: out overlaps x")
        self._lib.layer_norm(x.data_ptr(), x.stride(0), out.data_ptr(), out.stride(0), weight.data_ptr(),
                             bias.data_ptr(), eps, None if add is None else add.data_ptr(), n, d)
        return out

    def heads_scaled(self, attended: Tensor, scale: Tensor, out: Tensor) -> Tensor:
        """out (rows, h * hd) = attended (h, rows, hd) with each (head, row) times scale (h, rows), the heads
        side by side; all contiguous. Returns out."""
        h, rows, hd = attended.shape
        _check(attended, "attended", contiguous=True)
        _check(scale, "scale", contiguous=True, shape=(h, rows))
        _check(out, "out", contiguous=True, shape=(rows, h * hd))
        self._lib.heads_scaled(attended.data_ptr(), scale.data_ptr(), out.data_ptr(), h, rows, hd)
        return out


    def attend_one(self, queries: Tensor, keys: Tensor, values: Tensor, out: Tensor) -> Tensor:
        """Attention of one query per spectrum and head over its t tokens (softmax(q . k) v; the scale is in the
        queries), heads side by side into out (n, h * hd). queries (h * hd, n), keys (h * hd, n * t) and values
        (h, n * t, hd), all contiguous, as the encoder's products lay them out; t at most 64. Returns out."""
        h, nt, hd = values.shape
        n = queries.shape[1]
        t = nt // max(n, 1)
        if n * t != nt or not 0 < t <= 64:
            raise ValueError(f"attend_one: {nt} value rows for {n} spectra (at most 64 tokens each)")
        for name, v, shape in (("queries", queries, (h * hd, n)), ("keys", keys, (h * hd, nt)),
                               ("values", values, (h, nt, hd)), ("out", out, (n, h * hd))):
            _check(v, name, contiguous=True, shape=shape)
        scores = torch.empty(nt, dtype=torch.float32, device="cpu")
        self._lib.attend_one(queries.data_ptr(), keys.data_ptr(), values.data_ptr(), out.data_ptr(),
                             scores.data_ptr(), h, n, t, hd)
        return out

    def attend_all(self, qk: Tensor, values: Tensor, out: Tensor, n: int) -> Tensor:
        """Attention of every token over its spectrum's t tokens (at most 16), heads side by side into out
        (n * t, h * hd): qk (2 * h * hd, n * t), the queries' rows (scaled) then the keys', and values
        (h, n * t, hd), all contiguous, as the encoder's products lay them out. Returns out."""
        h, nt, hd = values.shape
        t = nt // max(n, 1)
        if n * t != nt or not 0 < t <= 16:
            raise ValueError(f"attend_all: {nt} value rows for {n} spectra (at most 16 tokens each)")
        for name, v, shape in (("qk", qk, (2 * h * hd, nt)), ("values", values, (h, nt, hd)),
                               ("out", out, (nt, h * hd))):
            _check(v, name, contiguous=True, shape=shape)
        self._lib.attend_all(qk.data_ptr(), values.data_ptr(), out.data_ptr(), h, n, t, hd)
        return out


def _span(t: Tensor) -> tuple[int, int]:
    """The bytes a 2-D tensor with unit column stride reaches: [first, last + 1)."""
    return t.data_ptr(), t.data_ptr() + ((t.shape[0] - 1) * t.stride(0) + t.shape[1]) * t.element_size()


def _check(t: Tensor, name: str, rows: bool = False, contiguous: bool = False,
           shape: tuple[int, ...] | None = None) -> None:
    if t.dtype != torch.float32 or t.device.type != "cpu":
        raise ValueError(f"{name}: the C kernels take float32 CPU tensors, not {t.dtype} on {t.device}")
    if shape is not None and tuple(t.shape) != shape:
        raise ValueError(f"{name}: shape {tuple(t.shape)}, expected {shape}")
    if contiguous and not t.is_contiguous():
        raise ValueError(f"{name}: must be contiguous")
    if rows and (t.dim() != 2 or (t.shape[1] > 1 and t.stride(1) != 1) or t.stride(0) < t.shape[1]):
        raise ValueError(f"{name}: must be 2-D with contiguous rows, strides {t.stride()}")


_loaded: dict[Path, Kernels] = {}
_lock = threading.Lock()


def load() -> Kernels:
    """The kernels for this machine: compiled now if the cache folder has no library for it yet."""
    path = library_path()
    with _lock:
        if path not in _loaded:
            if not path.exists():
                _build(path)
            _loaded[path] = Kernels(path)
        return _loaded[path]


def choose_kernels(choice: str | None, bf16: bool = False, device: str = "cpu") -> tuple[Kernels | None, str]:
    """(the C kernels, or None with the reason: asked for, bf16, not a CPU, or why they do not build), for
    ``choice`` "c" (KernelsUnavailable where they cannot run), "torch" or "auto"; None reads $XLE_KERNELS."""
    source = "XLE_KERNELS" if choice is None else "kernels"
    choice = os.environ.get("XLE_KERNELS", "auto") if choice is None else choice
    if choice not in KERNEL_CHOICES:
        raise ConfigError(f"{source}={choice!r}: must be one of {', '.join(KERNEL_CHOICES)}")
    if choice == "torch" or bf16 or device != "cpu":
        reason = "asked for" if choice == "torch" else "bf16" if bf16 else f"on {device}"
        if choice == "c":
            raise KernelsUnavailable(f"the C kernels run float32 on a CPU only ({reason})")
        return None, f"torch operators ({reason})"
    try:
        return load(), ""
    except KernelsUnavailable as e:
        if choice == "c":
            raise
        return None, f"torch operators: the C kernels are unavailable: {e}"


def kernels_summary(device: str = "cpu") -> str:
    """One line for a command's output: which kernels the encoder runs here, and why."""
    k, note = choose_kernels(None, device=device)
    return note if k is None else f"fused C kernels ({k.path})"
