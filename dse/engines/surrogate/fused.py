"""The fused LIF time loop (lif_kernel.c), built once and called through ctypes.

Why a C kernel: a LIF layer's T steps are a chain of ~10 tiny tensor operations
each, forward and backward; on a CPU their dispatch, not arithmetic, costs the
time (issue 5 counts 1,300-4,800 ATen calls per training step, matmuls 10-20%).
One C call per layer and direction removes that. Why not a torch C++
extension: building one against torch's headers takes tens of seconds per new
environment, a cost every fresh trial process would risk; this file needs no
headers and builds in well under a second with any C compiler.

The shared library is cached under ``$DSE_CACHE_DIR`` (default
``~/.cache/snn-dse``), keyed by the source, the compiler and this machine's CPU,
so later processes only load it. Processes starting together on an empty cache
(workers, benchmarks) build it once: one holds an fcntl lock on
``lif-<key>.lock`` and compiles into a temporary file that is renamed into
place; the others wait on the lock and load that file. A library that does
not load is rebuilt under the lock; a cache that cannot be written gets a
private build in a temporary directory.

On CUDA, or for dtypes other than float32, :func:`lif` runs the PyTorch loop
of :mod:`.neurons` (identical results). Where the kernel cannot be had on a
float32 CPU (no C compiler, a failing build), the same loop runs several times
slower, so that fallback is never silent: it warns with the reason once per
process (``DSE_REQUIRE_FUSED=1`` makes it an error instead; ``DSE_NO_FUSED=1``
asks for the loop, without a warning). :func:`kernel_status` says which path
this process takes and why; :data:`calls` counts the paths that ran.
"""

from __future__ import annotations

import atexit
import ctypes
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import torch

from .neurons import NeuronConfig, lif_sequence

SOURCE = Path(__file__).with_name("lif_kernel.c")
ROUNDING = {"truncate": 1, "nearest": 2, "stochastic": 3}
SURROGATE = {"atan": 0, "fast-sigmoid": 1, "dspike": 2}
FLAGS = ["-O2", "-ftree-vectorize", "-fPIC", "-shared", "-fno-math-errno", "-fno-trapping-math"]
"""-O2 with vectorisation builds in half the time of -O3 (0.25 s vs 0.5 s here) at the same speed."""
NATIVE = ["-march=native"]
BUILD_TIMEOUT = 120


def cache_dir() -> Path:
    root = os.environ.get("DSE_CACHE_DIR")
    if root:
        return Path(root)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "snn-dse"


def _compiler() -> str | None:
    for candidate in (os.environ.get("CC"), (sysconfig.get_config_var("CC") or "").split(" ")[0], "cc", "gcc",
                      "clang"):
        if candidate and shutil.which(candidate):
            return candidate
    return None


def _cpu_signature() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            flags = next((line for line in f if line.startswith("flags")), "")
    except OSError:
        flags = ""
    return f"{platform.machine()}|{platform.processor()}|{flags}"


def _build(compiler: str, target: Path) -> str | None:
    """Compile into a temporary file beside `target`, then rename it into place
    (atomic: a concurrent reader sees no file or a whole one). None on success,
    else the compiler's complaint."""
    target.parent.mkdir(parents=True, exist_ok=True)
    error = "no flags tried"
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        out = Path(tmp) / target.name
        for flags in (FLAGS + NATIVE, FLAGS):  # -march=native where the compiler has it
            try:
                result = subprocess.run([compiler, *flags, "-o", str(out), str(SOURCE), "-lm"],
                                        capture_output=True, text=True, timeout=BUILD_TIMEOUT)
            except subprocess.TimeoutExpired:
                error = f"{compiler} took over {BUILD_TIMEOUT} s"
                continue
            if result.returncode == 0:
                os.replace(out, target)
                return None
            error = (result.stderr.strip().splitlines() or [f"exit status {result.returncode}"])[-1]
    return f"{compiler} failed: {error}"


def _load(target: Path) -> ctypes.CDLL:
    lib = ctypes.CDLL(str(target))
    f32, i64, i32, ptr = ctypes.c_float, ctypes.c_int64, ctypes.c_int, ctypes.c_void_p
    lib.lif_forward.argtypes = [ptr, i32, i64, i64, f32, f32, i32, i32, f32, f32, f32, f32, ptr,
                                ptr, ptr, ptr, ptr]
    lib.lif_forward.restype = None
    lib.lif_backward.argtypes = [ptr, ptr, ptr, i64, i64, f32, f32, i32, i32, f32, i32, ptr, ptr]
    lib.lif_backward.restype = None
    return lib


@contextmanager
def _locked(path: Path):
    """An exclusive advisory lock (fcntl) on `path`, held for the block: one process
    builds, the others wait for it and then load its library. The lock file stays
    (deleting it would let two processes lock two different files)."""
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _build_and_load(compiler: str, target: Path) -> tuple[ctypes.CDLL, bool]:
    """The library at `target`, built there under a lock when missing or unloadable.
    Returns (library, whether this process built it); raises RuntimeError or OSError."""
    if target.exists():  # the common case: built by an earlier process, no lock needed
        try:
            return _load(target), False
        except OSError:
            pass  # damaged (a crash mid-copy, a full disk): rebuilt below, under the lock
    with _locked(target.with_suffix(".lock")):
        if target.exists():  # another process built it while this one waited
            try:
                return _load(target), False
            except OSError:
                target.unlink(missing_ok=True)
        error = _build(compiler, target)
        if error:
            raise RuntimeError(error)
        return _load(target), True


@dataclass(frozen=True)
class KernelStatus:
    """Which LIF time loop float32 CPU tensors get in this process, and why."""

    path: str
    """``"c-kernel"`` or ``"torch-loop"``."""
    reason: str = ""
    """Why the torch loop (empty for the C kernel)."""
    library: str = ""
    """The shared library loaded."""
    built: bool = False
    """Whether this process compiled it (the cache was empty)."""
    seconds: float = 0.0
    """Spent building and loading it."""


@lru_cache(maxsize=None)
def _kernel() -> tuple[ctypes.CDLL | None, KernelStatus]:
    if os.environ.get("DSE_NO_FUSED") == "1":
        return None, KernelStatus("torch-loop", "DSE_NO_FUSED=1")
    if sys.platform == "win32":
        return None, _fallback("the C kernel is not built on Windows")
    compiler = _compiler()
    if compiler is None:
        return None, _fallback("no C compiler found (CC, cc, gcc, clang)")
    key = hashlib.sha256(SOURCE.read_bytes() + compiler.encode() + _cpu_signature().encode()
                         + " ".join(FLAGS + NATIVE).encode()).hexdigest()[:16]
    started = time.perf_counter()
    problems = []
    # the shared cache first; where it cannot be written, a directory of this process's own
    for directory in (cache_dir() / "kernels", None):
        try:
            if directory is None:
                directory = Path(tempfile.mkdtemp(prefix="snn-dse-kernel-"))
                atexit.register(shutil.rmtree, directory, True)
            target = directory / f"lif-{key}.so"
            lib, built = _build_and_load(compiler, target)
        except (OSError, RuntimeError) as exc:
            problems.append(f"{directory}: {exc}")
            continue
        return lib, KernelStatus("c-kernel", "", str(target), built, round(time.perf_counter() - started, 3))
    return None, _fallback("; ".join(problems))


def _fallback(reason: str) -> KernelStatus:
    if os.environ.get("DSE_REQUIRE_FUSED") == "1":
        raise RuntimeError(f"DSE_REQUIRE_FUSED=1 but the C LIF kernel is unavailable: {reason}")
    warnings.warn(f"snn-dse: the C LIF kernel is unavailable ({reason}); float32 CPU training runs the "
                  "PyTorch loop instead, several times slower", RuntimeWarning, stacklevel=3)
    return KernelStatus("torch-loop", reason)


def library() -> ctypes.CDLL | None:
    """The loaded kernel, building it on first use; None where it cannot be built
    (with a RuntimeWarning naming the reason, unless DSE_NO_FUSED=1 asked for that)."""
    return _kernel()[0]


def kernel_status() -> KernelStatus:
    """Which path float32 CPU tensors take in this process (loading the kernel if
    not yet loaded), why, and what loading it cost. :data:`calls` counts the
    paths that actually ran."""
    return _kernel()[1]


calls = {"c-kernel": 0, "torch-loop": 0}
"""LIF layer calls per path in this process (forward passes; any device)."""


def _ptr(tensor: torch.Tensor | None) -> int | None:
    return tensor.data_ptr() if tensor is not None else None


class FusedLIF(torch.autograd.Function):
    """Spikes [T, B, ...] (or their mean over T, [B, ...]) of a LIF population."""

    @staticmethod
    def forward(ctx, current: torch.Tensor, steps: int, cfg: NeuronConfig, noise: torch.Tensor | None,
                rate: bool, constant: bool) -> torch.Tensor:
        lib = library()
        shape = tuple(current.shape if constant else current.shape[1:])
        units = current[0].numel() if not constant else current.numel()
        current = current.contiguous()
        noise = noise.contiguous() if noise is not None else None  # alive through the C call
        membrane = current.new_empty((steps, *shape))
        spikes = None if rate else current.new_empty((steps, *shape))
        mean = current.new_empty(shape) if rate else None
        scratch = current.new_empty(2 * units)
        grid = cfg.state_grid
        mode = ROUNDING[cfg.rounding] if grid is not None else 0
        lib.lif_forward(
            current.data_ptr(), int(constant), steps, units, cfg.decay, cfg.threshold, int(cfg.hard_reset),
            mode, grid.delta if grid else 1.0, grid.offset if grid else 0.0,
            float(grid.kmin) if grid else 0.0, float(grid.kmax) if grid else 0.0,
            _ptr(noise),
            _ptr(spikes), _ptr(mean), membrane.data_ptr(), scratch.data_ptr())
        ctx.save_for_backward(membrane)
        ctx.cfg, ctx.constant, ctx.rate = cfg, constant, rate
        return mean if rate else spikes

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (membrane,) = ctx.saved_tensors
        cfg: NeuronConfig = ctx.cfg
        steps = membrane.shape[0]
        shape = membrane.shape[1:]
        units = membrane[0].numel()
        grad = grad.contiguous()
        grad_current = membrane.new_empty(shape if ctx.constant else membrane.shape)
        scratch = membrane.new_empty(2 * units)
        library().lif_backward(
            None if ctx.rate else grad.data_ptr(), grad.data_ptr() if ctx.rate else None, membrane.data_ptr(),
            steps, units, cfg.decay, cfg.threshold, int(cfg.hard_reset), SURROGATE[cfg.surrogate], cfg.scale,
            int(ctx.constant), grad_current.data_ptr(), scratch.data_ptr())
        return grad_current, None, None, None, None, None


def fused_available(tensor: torch.Tensor) -> bool:
    return tensor.device.type == "cpu" and tensor.dtype == torch.float32 and library() is not None


def lif(current: torch.Tensor, steps: int, cfg: NeuronConfig, noise: torch.Tensor | None = None,
        rate: bool = False, constant: bool | None = None) -> torch.Tensor:
    """Spikes [T, B, ...] of the population, or with ``rate`` their mean over T.

    `constant` (default: a 2-D [B, N] current) marks an input that is the same at
    every step. Uses the C kernel on float32 CPU tensors, the PyTorch loop elsewhere."""
    constant = current.dim() == 2 if constant is None else constant
    if fused_available(current):
        calls["c-kernel"] += 1
        return FusedLIF.apply(current, steps, cfg, noise, rate, constant)
    calls["torch-loop"] += 1
    spikes = lif_sequence(current, steps, cfg, noise, constant)
    return spikes.mean(0) if rate else spikes
