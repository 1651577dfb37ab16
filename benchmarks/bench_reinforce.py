"""Training speed of REINFORCE on nonlocal games: qpolicy batched vs a loop over seeds vs JAX.

All three run the same algorithm — entangled policy (QuantumSoftmax POVMs, learned state
ρ = BᴴB/tr), batch of referee rounds per step, surrogate of eq. (20), Adam — for ``S`` seeds:

* ``batched``  – :func:`qpolicy.learn.reinforce.train` with ``seeds=S`` (one batched computation);
* ``loop``     – ``S`` separate ``train(seeds=1)`` calls (what you get without vectorizing);
* ``jax-jit``  – the same step written in JAX (Alg. 1 through ``jnp.linalg.eigh``, the Born rule by
  einsum, sampling with ``jax.random.categorical``), ``vmap`` over seeds, one ``jax.jit`` step,
  as the paper's implementation was.  Its rewards come from the predicate inside the compiled step
  (no black-box referee call), which flatters it slightly.  Skipped if JAX is absent
  (``pip install -e ".[bench]"``); compile time excluded;
* ``before``   – with ``--before REV``: ``batched`` as the package was at git revision ``REV``
  (exported with ``git archive`` to a temporary folder), to measure a speed-up in one run.  Both
  it and ``batched`` then run in fresh subprocesses, alternately, the best of ``--repeats``
  timings each, so both see the same machine load.

Reported: seed-steps per second (S × steps / wall time), ratios to ``batched``, and as a sanity
check the mean exact win probability after the last step of ours and of the JAX peer.

Run:  python benchmarks/bench_reinforce.py [--games chsh tetra] [--seeds 30] [--steps 60]
          [--peers loop jax] [--before REV --repeats 3]
"""
import argparse
import os
import subprocess
import sys
import tarfile
import tempfile
import time

import numpy as np

from qpolicy import games
from qpolicy.learn import reinforce


def time_batched(game, seeds, steps, batch):
    start = time.perf_counter()
    run = reinforce.train(game, seeds=seeds, steps=steps, batch=batch, progress=False)
    return time.perf_counter() - start, float(np.mean(run.history[-1]))


def time_loop(game, seeds, steps, batch):
    start = time.perf_counter()
    for s in range(seeds):
        reinforce.train(game, seeds=1, steps=steps, batch=batch, seed=s, progress=False)
    return time.perf_counter() - start


#: Times ``train`` in a fresh interpreter, so an older revision of the package can be measured.
_TIMER = """
import sys, time
from qpolicy import games
from qpolicy.learn import reinforce
game = getattr(games, sys.argv[1])()
seeds, steps, batch = map(int, sys.argv[2:5])
reinforce.train(game, seeds=seeds, steps=2, batch=batch, progress=False)    # warm-up
start = time.perf_counter()
reinforce.train(game, seeds=seeds, steps=steps, batch=batch, progress=False)
print(time.perf_counter() - start)
"""


def export_revision(rev, folder):
    """``git archive REV qpolicy`` unpacked into ``folder``; returns ``folder``."""
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    archive = os.path.join(folder, "src.tar")
    subprocess.run(["git", "-C", repo, "archive", "-o", archive, rev, "qpolicy"], check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(folder, filter="data")
    return folder


def time_in_subprocess(source, name, seeds, steps, batch):
    """Seconds for ``steps`` batched steps with the package found first on ``source``."""
    env = dict(os.environ, PYTHONPATH=source)
    out = subprocess.run([sys.executable, "-c", _TIMER, name, str(seeds), str(steps), str(batch)],
                         env=env, check=True, capture_output=True, text=True)
    return float(out.stdout.strip())


def compare_revisions(args, before_source, current_source):
    """Per game: seed-steps/s now and at ``--before``, alternating runs, best of ``--repeats``."""
    print(f"seeds={args.seeds} steps={args.steps} batch={args.batch}; seed-steps/s, best of "
          f"{args.repeats} alternating runs; speed-up = now / {args.before}")
    print(f"{'game':6s} {args.before[:10]:>10s} {'now':>10s} {'speed-up':>9s} {'ms/step now':>12s}")
    for name in args.games:
        best = {"before": np.inf, "now": np.inf}
        for _ in range(args.repeats):
            for label, source in (("before", before_source), ("now", current_source)):
                seconds = time_in_subprocess(source, name, args.seeds, args.steps, args.batch)
                best[label] = min(best[label], seconds)
        work = args.seeds * args.steps
        print(f"{name:6s} {work / best['before']:10.0f} {work / best['now']:10.0f} "
              f"{best['before'] / best['now']:9.2f} {1e3 * best['now'] / args.steps:12.1f}",
              flush=True)


def make_jax_trainer(game, seeds, batch, dim, lr=3e-2, alpha=0.2):
    """A jitted JAX REINFORCE step for ``seeds`` runs, or None when JAX is not installed."""
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)
    n = game.n_players
    n_q, n_a = tuple(game.n_questions), tuple(game.n_answers)
    predicate = jnp.asarray(game.predicate.reshape(int(np.prod(n_a)), int(np.prod(n_q))))
    mu = jnp.asarray(game.question_dist.ravel())

    def herm(Z):
        return 0.5 * (Z + jnp.conj(jnp.swapaxes(Z, -1, -2)))

    def quantum_softmax(X, Y):                      # Alg. 1 through eigh
        w, V = jnp.linalg.eigh(herm(X + 1j * Y))
        w = w - jnp.max(w, axis=(-2, -1), keepdims=True)
        R = (V * jnp.exp(w)[..., None, :]) @ jnp.conj(jnp.swapaxes(V, -1, -2))
        s, W = jnp.linalg.eigh(jnp.sum(R, axis=-3))
        T = (W / jnp.sqrt(s)[..., None, :]) @ jnp.conj(jnp.swapaxes(W, -1, -2))
        return T[..., None, :, :] @ R @ T[..., None, :, :]

    letters = "abcdefghijklmnopqrstuvwxyz"
    rows, cols, ans, qs = (letters[i * n:(i + 1) * n] for i in range(4))
    spec = (rows + cols + "," + ",".join(qs[k] + ans[k] + cols[k] + rows[k] for k in range(n))
            + "->" + ans + qs)

    def table(params):                              # one seed: p[a_flat, o_flat]
        B = params["B_re"] + 1j * params["B_im"]
        rho = jnp.conj(B.T) @ B
        rho = rho / jnp.real(jnp.trace(rho))
        povms = [quantum_softmax(params[f"X{k}"], params[f"Y{k}"]) for k in range(n)]
        p = jnp.real(jnp.einsum(spec, rho.reshape((dim,) * (2 * n)), *povms))
        return p.reshape(predicate.shape)

    def surrogate(params, key):
        p = table(params)
        k1, k2 = jax.random.split(key)
        o = jax.random.choice(k1, mu.size, (batch,), p=mu)
        logits = jnp.log(jnp.maximum(p[:, o].T, 1e-300))
        a = jax.random.categorical(k2, logits)
        logp = jnp.log(p[a, o])
        weight = jax.lax.stop_gradient(predicate[a, o] - alpha * (logp + 1.0))
        return jnp.mean(weight * logp)

    def adam(params, grads, m, v, t):
        m = jax.tree_util.tree_map(lambda m, g: 0.9 * m + 0.1 * g, m, grads)
        v = jax.tree_util.tree_map(lambda v, g: 0.999 * v + 0.001 * g * g, v, grads)
        step = lambda p, m, v: p + lr * (m / (1 - 0.9 ** t)) / (jnp.sqrt(v / (1 - 0.999 ** t)) + 1e-8)
        return jax.tree_util.tree_map(step, params, m, v), m, v

    def one_step(params, m, v, t, keys):
        grads = jax.vmap(jax.grad(surrogate))(params, keys)
        params, m, v = adam(params, grads, m, v, t)
        return params, m, v

    step = jax.jit(one_step)
    rng = np.random.default_rng(0)
    params = {"B_re": rng.standard_normal((seeds, dim ** n, dim ** n)),
              "B_im": rng.standard_normal((seeds, dim ** n, dim ** n))}
    for k in range(n):
        shape = (seeds, n_q[k], n_a[k], dim, dim)
        params[f"X{k}"], params[f"Y{k}"] = rng.standard_normal(shape), rng.standard_normal(shape)
    params = {k: jnp.asarray(v) for k, v in params.items()}

    def run(steps):
        nonlocal params
        m = jax.tree_util.tree_map(jnp.zeros_like, params)
        v = jax.tree_util.tree_map(jnp.zeros_like, params)
        key = jax.random.PRNGKey(0)
        p = params
        for t in range(1, steps + 1):
            key, sub = jax.random.split(key)
            p, m, v = step(p, m, v, t, jax.random.split(sub, seeds))
        values = jax.vmap(lambda q: jnp.sum(predicate * table(q) * mu))(p)
        return float(jnp.mean(values))                     # sanity check: it does learn

    return run


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--games", nargs="+", default=["chsh", "ghz", "tetra", "cube"])
    ap.add_argument("--seeds", type=int, default=30)
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--batch", type=int, default=512)
    ap.add_argument("--peers", nargs="*", choices=["loop", "jax"], default=["loop", "jax"],
                    help="peers timed beside batched (ignored with --before)")
    ap.add_argument("--before", metavar="REV", default=None,
                    help="instead: compare batched now against batched at git revision REV")
    ap.add_argument("--repeats", type=int, default=3, help="timings per side with --before")
    args = ap.parse_args(argv)
    if args.before is not None:
        current = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        with tempfile.TemporaryDirectory() as folder:
            compare_revisions(args, export_revision(args.before, folder), current)
        return
    print(f"seeds={args.seeds} steps={args.steps} batch={args.batch}; seed-steps/s (higher is "
          f"better), ratio = batched / other")
    print(f"{'game':6s} {'batched':>10s} {'loop':>10s} {'ratio':>7s} {'jax-jit':>10s} {'ratio':>7s}"
          f"   mean value at the end, ours / jax")
    for name in args.games:
        game = getattr(games, name)()
        work = args.seeds * args.steps
        seconds, our_value = time_batched(game, args.seeds, args.steps, args.batch)
        batched = work / seconds
        if "loop" in args.peers:
            loop = work / time_loop(game, args.seeds, args.steps, args.batch)
            loop_text = f"{loop:10.0f} {batched / loop:7.2f}"
        else:
            loop_text = f"{'skipped':>10s} {'':>7s}"
        jax_run = make_jax_trainer(game, args.seeds, args.batch, max(game.n_answers)) \
            if "jax" in args.peers else None
        if jax_run is None:
            jax_text, jax_value = f"{'skipped':>10s} {'':>7s}", float("nan")
        else:
            jax_run(2)                                           # compile
            start = time.perf_counter()
            jax_value = jax_run(args.steps)
            jax_speed = work / (time.perf_counter() - start)
            jax_text = f"{jax_speed:10.0f} {batched / jax_speed:7.2f}"
        print(f"{name:6s} {batched:10.0f} {loop_text} {jax_text}   "
              f"{our_value:.4f} / {jax_value:.4f}", flush=True)


if __name__ == "__main__":
    main()
