"""Forward+backward time and peak memory of QuantumSoftmax: qpolicy vs two peers, in one run.

Every implementation computes the gradient of the same scalar loss
``L(X, Y) = Σ Re(G ∘ QuantumSoftmax(X + iY))`` (``G`` a fixed random array) with respect to the
real and imaginary logits, for batches of POVMs of shape ``(batch, m, d, d)``:

* ``qpolicy``   – :func:`qpolicy.quantum_softmax` (polar forward, Daleckii–Krein backward);
* ``ag-eigh``   – Alg. 1 written directly in ``autograd.numpy`` (``exp`` and ``S^{-1/2}`` through
  ``autograd.numpy.linalg.eigh`` and its built-in gradient, which is NaN at ties; the random
  inputs here have none);
* ``jax-jit``   – the same Alg. 1 with ``jax.numpy.linalg.eigh`` under ``jax.jit`` (CPU), when
  JAX is installed (``pip install -e ".[bench]"``); skipped otherwise.

Time: best of several repeats after a warm-up (the JAX compile is excluded).  Memory: peak of
``tracemalloc`` during one forward+backward (NumPy allocations only, so not reported for JAX,
whose buffers live outside Python's allocator).

Run:  python benchmarks/bench_quantum_softmax.py [--quick]
"""
import argparse
import time
import tracemalloc

import autograd.numpy as anp
import numpy as np
from autograd import grad

import qpolicy as qp

CASES = [(d, d) for d in (2, 3, 4)]           # (d, m)
BATCHES = (1, 64, 4096)


def _herm(anp_module, Z):
    return 0.5 * (Z + anp_module.conj(anp_module.swapaxes(Z, -1, -2)))


def _algorithm1(np_module, eigh, X, Y):
    """Alg. 1 written with a library's eigh: R_j = e^{Z̃_j - c}, P_j = S^{-1/2} R_j S^{-1/2}."""
    w, V = eigh(_herm(np_module, X + 1j * Y))
    w = w - np_module.max(w, axis=(-2, -1), keepdims=True)
    R = np_module.matmul(V * np_module.exp(w)[..., None, :], np_module.conj(np_module.swapaxes(V, -1, -2)))
    s, W = eigh(np_module.sum(R, axis=-3))
    T = np_module.matmul(W / np_module.sqrt(s)[..., None, :], np_module.conj(np_module.swapaxes(W, -1, -2)))
    return np_module.matmul(np_module.matmul(T[..., None, :, :], R), T[..., None, :, :])


def make_qpolicy(G):
    loss = lambda X, Y: anp.sum(anp.real(G * qp.quantum_softmax(X + 1j * Y)))
    return grad(loss, (0, 1))


def make_autograd_eigh(G):
    loss = lambda X, Y: anp.sum(anp.real(G * _algorithm1(anp, anp.linalg.eigh, X, Y)))
    return grad(loss, (0, 1))


def make_jax(G):
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)
    G = jnp.asarray(G)
    loss = lambda X, Y: jnp.sum(jnp.real(G * _algorithm1(jnp, jnp.linalg.eigh, X, Y)))
    compiled = jax.jit(jax.grad(loss, (0, 1)))
    return lambda X, Y: jax.block_until_ready(compiled(X, Y))


def best_time(fn, X, Y, budget):
    """Best wall time of one call, repeating until ``budget`` seconds are used (≥ 3 calls)."""
    fn(X, Y)                                                     # warm-up (and JAX compile)
    times, start = [], time.perf_counter()
    while len(times) < 3 or time.perf_counter() - start < budget:
        t0 = time.perf_counter()
        fn(X, Y)
        times.append(time.perf_counter() - t0)
    return min(times)


def peak_memory(fn, X, Y):
    tracemalloc.start()
    fn(X, Y)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def check_agreement(impls, X, Y):
    """All implementations must compute the same gradient, or the timings mean nothing."""
    reference = impls["qpolicy"](X, Y)
    for name, fn in impls.items():
        gx, gy = (np.asarray(g) for g in fn(X, Y))
        err = max(np.max(np.abs(gx - reference[0])), np.max(np.abs(gy - reference[1])))
        if err > 1e-8:
            raise AssertionError(f"{name} gradient differs from qpolicy's by {err:.2e}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="shorter timing budget")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scale", type=float, default=None,
                        help="logits uniform in ±scale: times qpolicy alone (its exact backward "
                             "path; the peers' gradients are wrong there), batches 1 and 16")
    args = parser.parse_args(argv)
    if args.scale is not None:
        return time_large_logits(args.scale, np.random.default_rng(args.seed), budget=0.5)
    budget = 0.2 if args.quick else 1.0
    rng = np.random.default_rng(args.seed)
    header = (f"{'d':>2} {'m':>2} {'batch':>5} | {'qpolicy ms':>10} {'ag-eigh ms':>10} "
              f"{'jax-jit ms':>10} | {'ours/ag':>7} {'ours/jax':>8} | "
              f"{'qpolicy MB':>10} {'ag-eigh MB':>10}")
    print(header)
    print("-" * len(header))
    for d, m in CASES:
        for batch in BATCHES:
            X, Y = rng.normal(size=(2, batch, m, d, d))
            G = rng.normal(size=(batch, m, d, d))
            impls = {"qpolicy": make_qpolicy(G), "ag-eigh": make_autograd_eigh(G)}
            jax_fn = make_jax(G)
            if jax_fn is not None:
                impls["jax-jit"] = jax_fn
            check_agreement(impls, X, Y)
            ms = {name: 1e3 * best_time(fn, X, Y, budget) for name, fn in impls.items()}
            mb = {name: peak_memory(impls[name], X, Y) / 2**20 for name in ("qpolicy", "ag-eigh")}
            jax_ms = ms.get("jax-jit", float("nan"))
            print(f"{d:>2} {m:>2} {batch:>5} | {ms['qpolicy']:>10.3f} {ms['ag-eigh']:>10.3f} "
                  f"{jax_ms:>10.3f} | {ms['qpolicy'] / ms['ag-eigh']:>7.2f} "
                  f"{ms['qpolicy'] / jax_ms:>8.2f} | {mb['qpolicy']:>10.2f} {mb['ag-eigh']:>10.2f}",
                  flush=True)
    if make_jax(np.zeros(1)) is None:
        print("JAX not installed: jax-jit column skipped (pip install -e '.[bench]').")
    print("ratios < 1 mean qpolicy is faster.")


def time_large_logits(scale, rng, budget):
    from qpolicy.quantum import _quantum_softmax_with_spectra, GRADIENT_COND_LIMIT, GRADIENT_SPREAD_LIMIT
    print(f"logits uniform in ±{scale:g}: qpolicy forward+backward")
    print(f"{'d':>2} {'m':>2} {'batch':>5} | {'exact path':>10} | {'ms':>10} {'ms/POVM':>8}")
    for d, m in CASES:
        for batch in (1, 16):
            X, Y = rng.uniform(-scale, scale, (2, batch, m, d, d))
            _, _, h, _, sigma, _ = _quantum_softmax_with_spectra(X + 1j * Y)
            exact = np.sum((sigma[..., 0] ** 2 > GRADIENT_COND_LIMIT * sigma[..., -1] ** 2)
                           | (-h.min(axis=(-2, -1)) > GRADIENT_SPREAD_LIMIT))
            ms = 1e3 * best_time(make_qpolicy(rng.normal(size=X.shape)), X, Y, budget)
            print(f"{d:>2} {m:>2} {batch:>5} | {exact:>4} / {batch:<3} | {ms:>10.2f} {ms / batch:>8.2f}",
                  flush=True)


if __name__ == "__main__":
    main()
