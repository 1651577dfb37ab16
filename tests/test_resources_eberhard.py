"""Eberhard's 2/3 (CHSH, any state) to 1e-4 with both ends proved, and the lossy game.

Oracles: the Born rule on the explicit state and POVMs (an evaluation independent of the closed
form that the interval arithmetic uses), exact rational arithmetic over the 24 vertices of the
two-input two-output no-signalling polytope (Barrett et al., PRA 71, 022101 (2005)), and the
Massar–Pironio bound.  Tolerances as stated.
"""
import itertools
from fractions import Fraction

import numpy as np
import pytest

import qpolicy as qp
from qpolicy import games
from qpolicy.resources import (detection_povms, eberhard_strategy, eberhard_threshold,
                               lossy_game)


def test_eberhard_threshold_brackets_two_thirds_within_1e_4_with_both_ends_proved():
    th = eberhard_threshold(margin=1e-4)
    assert th.details["proved"] == {"upper": True, "lower": True}
    assert Fraction(th.lower) <= Fraction(2, 3) < Fraction(th.upper)        # exact comparison
    assert Fraction(th.upper) <= Fraction(2, 3) + Fraction(1e-4)
    assert abs(th.value - 2 / 3) < 1e-4
    low, high = th.details["advantage_at_upper"]
    assert 0 < low <= high                                  # positive in interval arithmetic
    assert th.details["advantage_bound_at_lower"] <= 1e-9


def test_eberhard_strategy_violation_agrees_with_the_born_rule():
    # δ = 1e-4: the interval arithmetic's enclosure and an independent Born-rule evaluation of
    # the explicit state and (lossy) POVMs agree; the violation ≈ 54 δ³ / 8 (asymptotics)
    eta = 2 / 3 + 1e-4
    s = eberhard_strategy(eta)
    assert s["certified"]
    born = games.chsh().value(qp.born(s["state"], s["effective_povms"])) - 0.75
    low, high = s["advantage"]
    assert high - low < 1e-25 and abs(born - low) < 1e-14
    assert born > 0
    assert abs(low / (54e-12 / 8) - 1) < 0.01
    # the effective POVMs are the documented loss model of the plain ones
    lossy = detection_povms(s["povms"], eta)
    assert all(np.allclose(a, b) for a, b in zip(lossy, s["effective_povms"]))


@pytest.mark.parametrize("eta", [0.67, 0.75, 0.9, 1.0])
def test_eberhard_strategy_is_certified_over_the_range(eta):
    s = eberhard_strategy(eta)
    born = games.chsh().value(qp.born(s["state"], s["effective_povms"])) - 0.75
    assert s["certified"] and abs(born - s["advantage"][0]) < 1e-12


def test_eberhard_strategy_refuses_efficiencies_without_violation():
    for bad in (2 / 3, 0.6, 0.0, 1.2):
        with pytest.raises(ValueError, match="efficiency"):
            eberhard_strategy(bad)
    with pytest.raises(TypeError, match="efficiency"):
        eberhard_strategy("0.7")
    with pytest.raises(ValueError, match="margin"):
        eberhard_threshold(margin=0.5)


def _ns_vertices():
    """The 16 deterministic tables and 8 PR boxes of the 2222 no-signalling polytope, exact."""
    out = []
    for f in itertools.product((0, 1), repeat=4):          # a(x) = f[x], b(y) = f[2 + y]
        p = {}
        for a, b, x, y in itertools.product((0, 1), repeat=4):
            p[a, b, x, y] = Fraction(int(a == f[x] and b == f[2 + y]))
        out.append(p)
    for alpha, beta, gamma in itertools.product((0, 1), repeat=3):
        p = {}
        for a, b, x, y in itertools.product((0, 1), repeat=4):
            wins = (a ^ b) == ((x & y) ^ (alpha & x) ^ (beta & y) ^ gamma)
            p[a, b, x, y] = Fraction(int(wins), 2)
        out.append(p)
    return out


def _exact_lossy_value(p, eta):
    """CHSH value of the vertex p through detectors of efficiency eta (no-click → 0), exact."""
    K = {(1, 1): eta, (0, 1): 1 - eta, (0, 0): Fraction(1), (1, 0): Fraction(0)}   # K[a', a]
    total = Fraction(0)
    for a2, b2, x, y in itertools.product((0, 1), repeat=4):
        if (a2 ^ b2) != (x & y):
            continue
        for a, b in itertools.product((0, 1), repeat=2):
            total += Fraction(1, 4) * K[a2, a] * K[b2, b] * p[a, b, x, y]
    return total


def test_no_signalling_value_at_two_thirds_is_exactly_classical_by_vertex_enumeration():
    vertices = _ns_vertices()
    eta = Fraction(2, 3)
    assert max(_exact_lossy_value(p, eta) for p in vertices) == Fraction(3, 4)
    above = Fraction(2, 3) + Fraction(1, 10**4)
    assert max(_exact_lossy_value(p, above) for p in vertices) > Fraction(3, 4)
    # the float lossy game agrees with the exact evaluation on every vertex
    g = lossy_game(games.chsh(), 0.7)
    for p in vertices:
        table = np.array([[[[float(p[a, b, x, y]) for y in (0, 1)] for x in (0, 1)]
                           for b in (0, 1)] for a in (0, 1)])
        assert abs(g.value(table) - float(_exact_lossy_value(p, Fraction(0.7)))) < 1e-15


def test_lossy_game_equals_the_game_on_the_lossy_behaviour():
    s = eberhard_strategy(0.8)
    for eta in (0.55, 0.9):
        direct = games.chsh().value(qp.born(s["state"], detection_povms(s["povms"], eta, 1)))
        via = lossy_game(games.chsh(), eta, no_click=1).value(qp.born(s["state"], s["povms"]))
        assert abs(direct - via) < 1e-14



def test_nonsignaling_efficiency_is_a_proved_lower_end_below_every_explicit_strategy():
    from qpolicy.resources import critical_efficiency, nonsignaling_efficiency
    th = nonsignaling_efficiency(games.chsh(), tol=1e-5)
    assert th.lower <= 2 / 3 <= th.upper and th.upper - th.lower <= 1e-5       # Massar–Pironio
    for game in (games.ghz(), games.mermin(4)):
        lower = nonsignaling_efficiency(game, tol=1e-3)
        seesaw = critical_efficiency(game, dim=2, tol=1e-3, restarts=1, seed=0)
        assert lower.value <= seesaw.upper                  # the explicit strategy lies above
    # a game without quantum advantage is never beaten: status "no advantage"
    trivial = games.NonlocalGame(np.ones((2, 2, 2, 2)), np.full((2, 2), 0.25))
    assert nonsignaling_efficiency(trivial).details["status"] == "no advantage"
