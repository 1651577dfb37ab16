"""Policy parameterizations for nonlocal games, batched over independent runs ("seeds").

Each class maps a dict of real parameter arrays — every array has a leading seed axis ``S`` — to
the policy tables ``p[s, a_1..a_n, o_1..o_n] = π_s(a | o)`` of ``S`` independent strategies, with
autograd, so one learner trains all classes on equal terms (paper §3, eq. 4–6):

* :class:`Entangled` — quantum strategies (eq. 6): per player ``k`` and question ``o_k`` real
  logits ``X, Y`` give complex ``Z = X + iY`` and the POVM ``M_k[o_k] = QuantumSoftmax(Z)``
  (Alg. 1) of local dimension ``d``; the shared state is learned, ``ρ = BᴴB / tr(BᴴB)`` (App.
  D.5), or fixed (maximally entangled / GHZ).  ``p(a|o) = tr(ρ ⊗_k M_k[o_k, a_k])`` (Born rule).
* :class:`SharedRandomness` — ``p(a|o) = Σ_λ q(λ) Π_k P_k(a_k | o_k, λ)`` with a learned
  distribution ``q`` over ``k`` shared values and local tables, all via softmax (eq. 4).
* :class:`Factorized` — ``p(a|o) = Π_k P_k(a_k | o_k)``: no shared resource (one shared value).

Example
-------
>>> import numpy as np
>>> from qpolicy import games
>>> policy = Entangled(games.chsh(), dim=2)
>>> params = policy.init(np.random.default_rng(0), seeds=3)
>>> policy.tables(params).shape                  # (seeds, a, b, x, y)
(3, 2, 2, 2, 2)
"""
import string

import autograd.numpy as anp
import numpy as np
from autograd.scipy.special import logsumexp

from qpolicy.games import NonlocalGame
from qpolicy.quantum import (check_density_matrix, default_entangled_state, density_matrix,
                             detector_loss, quantum_softmax)
from qpolicy.validation import (as_generator, as_square_matrices, check_choice, check_int,
                                check_positive, check_real_scalar, check_size)

STATES = ("learned", "fixed")
MEASUREMENTS = ("povm", "real")


class _Policy:
    """Shared plumbing: the game's alphabet sizes and the einsum that joins local factors."""

    def __init__(self, game):
        if not isinstance(game, NonlocalGame):
            raise TypeError(f"game must be a NonlocalGame, got {type(game).__name__}")
        self.game = game
        self.n_players = game.n_players
        self.n_questions = tuple(game.n_questions)
        self.n_answers = tuple(game.n_answers)

    def tables(self, params):
        """Policy tables ``(S, a_1..a_n, o_1..o_n)`` of the ``S`` strategies in ``params``."""
        raise NotImplementedError

    def init(self, rng, seeds):
        """Random parameters for ``seeds`` independent strategies (leading axis ``seeds``)."""
        raise NotImplementedError

    def _normal(self, rng, shape, scale):
        return scale * as_generator(rng).standard_normal(shape)


class Entangled(_Policy):
    """Quantum strategies with local dimension ``dim`` (default: the largest answer count).

    ``state="learned"`` learns ``B`` (complex ``D×D``, ``D = dim^n``) with ``ρ = BᴴB/tr``;
    ``state="fixed"`` uses the maximally entangled state (two players) or the GHZ state (qubits);
    a density matrix (e.g. ``qpolicy.resources.white_noise(rho, v)``) is the given resource,
    held fixed (``dim`` inferred from it when None).  Realistic resources (App. F):
    ``measurements="real"`` learns real logits, hence real symmetric POVMs (for qubits with two
    answers, measurements in the X–Z plane); ``efficiency`` η < 1 makes each player's detector
    click with probability η, a no-click being answered ``no_click``: the implemented POVM is
    ``η M + (1 − η) δ_{a, no_click} 𝟙``.
    Initial logits and ``B`` entries are standard normal times ``init_scale``.
    """

    def __init__(self, game, dim=None, state="learned", init_scale=1.0, measurements="povm",
                 efficiency=1.0, no_click=0):
        super().__init__(game)
        self.fixed_rho = None
        if not isinstance(state, str):
            self.fixed_rho = as_square_matrices(state, "state", ndim=2).astype(complex)
            check_density_matrix(self.fixed_rho, name="state")
            D, n = self.fixed_rho.shape[0], self.n_players
            if dim is None:
                dim = round(D ** (1.0 / n))
            if check_int(dim, "dim", minimum=1) ** n != D:
                raise ValueError(f"state has dimension {D}, not dim^{n} = {dim ** n}")
            state = "given"
        else:
            check_choice(state, "state (a name or a density matrix)", STATES)
        self.dim = max(self.n_answers) if dim is None else check_int(dim, "dim", minimum=1)
        self.state = state
        self.measurements = check_choice(measurements, "measurements", MEASUREMENTS)
        self.efficiency = check_real_scalar(efficiency, "efficiency", 0, 1, lo_open=True)
        if check_int(no_click, "no_click", minimum=0) >= min(self.n_answers):
            raise ValueError(f"no_click must be an answer of every player (< "
                             f"{min(self.n_answers)}), got {no_click}")
        self.no_click = no_click
        self.init_scale = check_positive(init_scale, "init_scale")
        self.total_dim = self.dim ** self.n_players
        # parameters of one strategy (Python ints: nothing wraps), refused before any allocation
        self.size = 2 * (sum(q * a for q, a in zip(self.n_questions, self.n_answers))
                         * self.dim ** 2 + self.total_dim ** 2)
        check_size(self.size, "dim", f"entangled strategy (local dimension {self.dim})")
        if state == "fixed":
            try:
                self.fixed_rho = default_entangled_state(self.n_players, self.dim)
            except ValueError as exc:
                raise ValueError(f"state='fixed' is unavailable here: {exc}") from None

    def __repr__(self):
        return (f"Entangled(game={self.game.name!r}, dim={self.dim}, state={self.state!r}, "
                f"measurements={self.measurements!r}, efficiency={self.efficiency:g})")

    def init(self, rng, seeds):
        seeds = check_int(seeds, "seeds", minimum=1)
        check_size(seeds * self.size, "seeds", f"{seeds} entangled strategies")
        rng = as_generator(rng)
        d, params = self.dim, {}
        for k, (q, a) in enumerate(zip(self.n_questions, self.n_answers)):
            params[f"povm{k}_re"] = self._normal(rng, (seeds, q, a, d, d), self.init_scale)
            if self.measurements == "povm":
                params[f"povm{k}_im"] = self._normal(rng, (seeds, q, a, d, d), self.init_scale)
        if self.state == "learned":
            D = self.total_dim
            params["state_re"] = self._normal(rng, (seeds, D, D), self.init_scale)
            params["state_im"] = self._normal(rng, (seeds, D, D), self.init_scale)
        return params

    def povms(self, params):
        """One POVM family per player, shape ``(S, n_questions_k, n_answers_k, d, d)`` (with
        detection loss when ``efficiency < 1``: the measurements actually implemented)."""
        out = []
        for k in range(self.n_players):
            logits = params[f"povm{k}_re"]
            if self.measurements == "povm":
                logits = logits + 1j * params[f"povm{k}_im"]
            out.append(detector_loss(quantum_softmax(logits), self.efficiency, self.no_click))
        return out

    def rho(self, params):
        """The shared states, shape ``(S, D, D)``."""
        if self.fixed_rho is not None:
            seeds = np.shape(params["povm0_re"])[0]
            return np.broadcast_to(self.fixed_rho, (seeds,) + self.fixed_rho.shape)
        return density_matrix(params["state_re"] + 1j * params["state_im"])

    def tables(self, params):
        # The Born rule of qpolicy.born, p[a, o] = tr(ρ ⊗_k M_k[o_k, a_k]), with a leading seed
        # axis, contracted one player at a time as batched matrix products (an einsum over all
        # parties at once is ~10x slower here).  ρ's axes are (rows r_1..r_n, cols c_1..c_n);
        # player k sums ρ[.., r_k, .., c_k, ..] M_k[o_k, a_k, c_k, r_k] over (r_k, c_k).
        rho = self.rho(params)
        seeds, d, n = np.shape(rho)[0], self.dim, self.n_players
        table = anp.reshape(rho, (seeds,) + (d,) * (2 * n))
        for k, povm in enumerate(self.povms(params)):
            left = n - k                                           # players still in the state
            order = [0] + [i for i in range(1, anp.ndim(table)) if i not in (1, 1 + left)]
            table = anp.transpose(table, order + [1, 1 + left])    # (.., r_k, c_k) last
            rest = np.shape(table)[1:-2]
            q, a = self.n_questions[k], self.n_answers[k]
            povm = anp.reshape(anp.transpose(povm, (0, 4, 3, 1, 2)), (seeds, d * d, q * a))
            table = anp.matmul(anp.reshape(table, (seeds, -1, d * d)), povm)
            table = anp.reshape(table, (seeds,) + rest + (q, a))   # appends (o_k, a_k)
        answers_first = [0] + [2 + 2 * k for k in range(n)] + [1 + 2 * k for k in range(n)]
        return anp.real(anp.transpose(table, answers_first))


class SharedRandomness(_Policy):
    """Mixtures of ``shared_values`` product strategies: ``Σ_λ q(λ) Π_k P_k(a_k|o_k, λ)``.

    ``q = softmax(w)`` and ``P_k(·|o_k, λ) = softmax(L_k[λ, o_k])``; logits start standard normal
    times ``init_scale``.  Every strategy of this class has value ≤ the classical value.
    """

    def __init__(self, game, shared_values=4, init_scale=1.0):
        super().__init__(game)
        self.shared_values = check_int(shared_values, "shared_values", minimum=1)
        self.init_scale = check_positive(init_scale, "init_scale")
        self.size = self.shared_values * (1 + sum(q * a for q, a in zip(self.n_questions,
                                                                          self.n_answers)))
        check_size(self.size, "shared_values", "shared-randomness strategy")
        self._mix_spec = _mixture_spec(self.n_players)

    def __repr__(self):
        return f"SharedRandomness(game={self.game.name!r}, shared_values={self.shared_values})"

    def init(self, rng, seeds):
        seeds = check_int(seeds, "seeds", minimum=1)
        check_size(seeds * self.size, "seeds", f"{seeds} shared-randomness strategies")
        rng = as_generator(rng)
        lam = self.shared_values
        params = {f"local{k}": self._normal(rng, (seeds, lam, q, a), self.init_scale)
                  for k, (q, a) in enumerate(zip(self.n_questions, self.n_answers))}
        params["shared"] = self._normal(rng, (seeds, lam), self.init_scale)
        return params

    def tables(self, params):
        q = _softmax(params["shared"])
        local = [_softmax(params[f"local{k}"]) for k in range(self.n_players)]
        return anp.einsum(self._mix_spec, q, *local, optimize=self.n_players > 2)


class Factorized(SharedRandomness):
    """Independent local strategies ``Π_k P_k(a_k | o_k)``: shared randomness with one value."""

    def __init__(self, game, init_scale=1.0):
        super().__init__(game, shared_values=1, init_scale=init_scale)

    def __repr__(self):
        return f"Factorized(game={self.game.name!r})"


POLICIES = {"entangled": Entangled, "shared": SharedRandomness, "factorized": Factorized}


def make_policy(game, policy="entangled", **options):
    """The parameterization named ``policy`` (``entangled``, ``shared``, ``factorized``)."""
    check_choice(policy, "policy", tuple(POLICIES))
    return POLICIES[policy](game, **options)


# -- helpers --------------------------------------------------------------------------------------

def _softmax(logits):
    return anp.exp(logits - logsumexp(logits, axis=-1, keepdims=True))



def _letters(n, skip="s"):
    pool = iter(c for c in string.ascii_letters if c not in skip)
    return [[next(pool) for _ in range(n)] for _ in range(4)]


def _mixture_spec(n):
    """einsum ``q[s, λ], P_k[s, λ, o_k, a_k] -> p[s, a..., o...]``."""
    _, _, answers, questions = _letters(n, skip="sl")
    local = ",".join("sl" + questions[k] + answers[k] for k in range(n))
    return f"sl,{local}->s{''.join(answers)}{''.join(questions)}"
