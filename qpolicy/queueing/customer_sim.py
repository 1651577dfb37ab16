"""Customer-level discrete-event simulation of the two-router system — the independent cross-check.

Written without the queue-state recursion of eq. (30): a heap of timed events (pair arrivals and
service completions), a FIFO line of customers per server, and each customer's service start
recorded.  A customer's wait is its service start minus its arrival; an idle period runs from
the moment a server's line empties until the next customer reaches it; the baseline reward of
an idle period of length t is T(t).  It is slow (a Python loop per customer) by design: it is
the reference the vectorized :class:`~qpolicy.queueing.env.RoutingEnv` is tested against, both
pathwise (:func:`replay`, same random inputs → same waits and rewards) and statistically
(:func:`simulate_customers`, independent random streams → agreement within confidence intervals).

Conventions shared with the environment: pair k arrives at time Σ_{i<k} Δt_i (pair 0 at time 0,
both servers idle since time 0); a pair on one server is served in random order.
"""
import heapq
from collections import deque
from dataclasses import dataclass

import numpy as np

from ..validation import as_array, as_generator, check_int
from .env import check_actions, check_rates, square
from .simulate import SimulationStats, batch_interval, default_warmup, MIN_BATCHES

_DEPARTURE, _ARRIVAL = 0, 1          # at equal times a departure is processed first


@dataclass(frozen=True)
class Trace:
    """What the event simulation recorded.

    ``waits`` ``(N, 2)``: wait of router i's customer of pair k; ``arrival_times`` ``(N,)``;
    ``idle_end``, ``idle_length``, ``idle_server``: each completed idle period (ended by an
    arriving customer); ``open_idle`` ``(2,)``: the idle time so far of a server idle at the end
    (0 if busy); ``end_time``: Σ Δt; ``reward``: Σ T(completed) + Σ T(open).
    """
    waits: np.ndarray
    arrival_times: np.ndarray
    idle_end: np.ndarray
    idle_length: np.ndarray
    idle_server: np.ndarray
    open_idle: np.ndarray
    end_time: float
    reward: float


def _event_loop(sizes, gaps, servers, second_is_0, throughput):
    n_pairs = len(gaps)
    arrival_times = np.concatenate([[0.0], np.cumsum(gaps)])
    end_time = float(arrival_times[-1])
    waits = np.zeros((n_pairs, 2))
    line = [deque(), deque()]              # customers (pair, router, arrival time, size)
    busy = [False, False]
    idle_since = [0.0, 0.0]
    idle_records = []
    events = [(0.0, _ARRIVAL, 0, -1)]      # (time, kind, pair, server); one pending arrival

    def start_service(server, now):
        pair, router, arrived, size = line[server][0]
        waits[pair, router] = now - arrived
        busy[server] = True
        heapq.heappush(events, (now + size, _DEPARTURE, -1, server))

    open_idle = None
    while events:
        if open_idle is None and events[0][0] > end_time:
            # The horizon: who is idle, and for how long, is decided now; the remaining
            # events are departures that only fix the waits of customers still in line.
            open_idle = np.array([0.0 if busy[s] else end_time - idle_since[s] for s in (0, 1)])
        now, kind, pair, server = heapq.heappop(events)
        if kind == _DEPARTURE:
            line[server].popleft()
            if line[server]:
                start_service(server, now)
            else:
                busy[server] = False
                idle_since[server] = now
            continue
        for router in ((1, 0) if second_is_0[pair] else (0, 1)):      # service order
            target = int(servers[pair, router])
            line[target].append((pair, router, now, sizes[pair, router]))
            if not busy[target]:
                idle_records.append((now, now - idle_since[target], target))
                start_service(target, now)
        if pair + 1 < n_pairs:
            heapq.heappush(events, (arrival_times[pair + 1], _ARRIVAL, pair + 1, -1))
    if open_idle is None:
        open_idle = np.array([0.0 if busy[s] else end_time - idle_since[s] for s in (0, 1)])
    idle = np.array(idle_records).reshape(-1, 3)
    reward = float(np.sum(throughput(idle[:, 1])) + np.sum(throughput(open_idle)))
    return Trace(waits, arrival_times[:-1], idle[:, 0], idle[:, 1], idle[:, 2].astype(int),
                 open_idle, end_time, reward)


def replay(sizes, gaps, servers, second_is_0, throughput=square):
    """Event-simulate given inputs: sizes ``(N, 2)``, Δt ``(N,)`` after each pair, executed
    servers ``(N, 2)`` in {0, 1}, and who is second in a co-routed pair ``(N,)`` bool.

    Returns a :class:`Trace`.  Used to check the environment pathwise.
    """
    sizes = as_array(sizes, "sizes", ndim=2, complex_ok=False)
    gaps = as_array(gaps, "gaps", ndim=1, complex_ok=False)
    if sizes.shape != (len(gaps), 2) or np.any(sizes <= 0) or np.any(gaps <= 0):
        raise ValueError("sizes must be (N, 2) and gaps (N,), all positive")
    servers = check_actions(servers, len(gaps))
    second_is_0 = np.asarray(second_is_0, dtype=bool)
    return _event_loop(sizes, gaps, servers, second_is_0, throughput)


def simulate_customers(policy, arrival_rate=0.8, service_rate=1.0, arrivals=10**5, seed=0,
                       throughput=square, warmup=None, batches=MIN_BATCHES, confidence=0.95):
    """Run ``policy(x, rng) -> actions`` on one long customer-level simulation.

    ``arrivals`` pairs after ``warmup`` discarded ones (default as in :func:`simulate`), with the
    balancing coin of eq. (35); returns :class:`SimulationStats` with batch-means intervals over
    ``batches`` consecutive batches of pairs (idle periods count in the batch where they end).
    """
    lam, mu = check_rates(arrival_rate, service_rate)
    arrivals = check_int(arrivals, "arrivals", minimum=2)
    warmup = default_warmup(lam, mu) if warmup is None else check_int(warmup, "warmup", minimum=0)
    batches = check_int(batches, "batches", minimum=2)
    rng = as_generator(seed, "seed")
    total = warmup + arrivals
    sizes = rng.standard_exponential((total, 2)) / mu
    gaps = rng.standard_exponential(total) / lam
    actions = check_actions(policy(sizes, rng), total)
    flips = rng.random(total) < 0.5
    servers = actions ^ flips[:, None]
    trace = _event_loop(sizes, gaps, servers, rng.random(total) < 0.5, throughput)

    batch_len = arrivals // batches
    starts = warmup + batch_len * np.arange(batches + 1)
    bounds = np.append(trace.arrival_times, trace.end_time)[starts]     # batch time windows
    duration = np.diff(bounds)
    which = np.searchsorted(bounds, trace.idle_end, side="right") - 1  # batch of each idle end
    inside = (which >= 0) & (which < batches)
    per_batch = lambda values: np.bincount(which[inside], values[inside], minlength=batches)
    wait_sums = trace.waits[warmup:warmup + batch_len * batches].mean(1).reshape(batches, -1)
    wait, wait_ci = batch_interval(wait_sums.sum(1), np.full(batches, batch_len), confidence)
    rate, rate_ci = batch_interval(per_batch(throughput(trace.idle_length)), duration, confidence)
    idle, idle_ci = batch_interval(per_batch(trace.idle_length), 2 * duration, confidence)
    mean_idle, mean_idle_ci = batch_interval(per_batch(trace.idle_length),
                                             per_batch(np.ones_like(trace.idle_length)),
                                             confidence)
    used = servers[warmup:warmup + batch_len * batches]
    return SimulationStats(
        mean_wait=wait, mean_wait_ci=wait_ci, throughput=rate, throughput_ci=rate_ci,
        idle_fraction=idle, idle_fraction_ci=idle_ci, mean_idle=mean_idle,
        mean_idle_ci=mean_idle_ci, split_fraction=float(np.mean(used[:, 0] != used[:, 1])),
        steps=batch_len * batches, n_envs=1, batches=batches, batch_length=batch_len,
        confidence=confidence)
