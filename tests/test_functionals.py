"""Bell functionals in Collins–Gisin / correlator / probability notation and their bounds."""
import numpy as np
import pytest

from qpolicy import games
from qpolicy.bounds import deterministic_table, seesaw_lower_bound
from qpolicy.bounds.functionals import (BellFunctional, cglmp3, from_collins_gisin,
                                        from_correlators, from_game, from_probability,
                                        functional_bound)
from qpolicy.bounds.nonsignaling import collins_gisin_map

CHSH_FC = np.array([[0, 0, 0], [0, 1, 1], [0, 1, -1]])          # Ket.jl / toqito "fc"
#: I3322 (Collins & Gisin 2004) in CG notation: local bound 0, quantum 0.2508753845
I3322_CG = np.array([[0, -2, -1, 0], [-1, 1, 1, 1], [0, 1, 1, -1], [0, 1, -1, 0]])


def random_behaviour(n_answers, n_questions, seed):
    """A random non-signaling behaviour: a mixture of deterministic ones."""
    rng = np.random.default_rng(seed)
    weights = rng.dirichlet(np.ones(5))
    return sum(w * deterministic_table([rng.integers(0, a, size=q) for a, q in
                                        zip(n_answers, n_questions)], n_answers)
               for w in weights)


def test_chsh_in_correlator_form():
    chsh = from_correlators(CHSH_FC)
    classical = functional_bound(chsh, "classical")
    assert classical.value == pytest.approx(2.0, abs=1e-12)
    assert classical.details["lower_bound"] <= 2.0 <= classical.details["upper_bound"]
    npa = functional_bound(chsh, "npa", level=1)
    assert 2 * np.sqrt(2) <= npa.value <= 2 * np.sqrt(2) + 1e-6           # proved, tight
    ns = functional_bound(chsh, "nonsignaling")
    assert ns.details["lower_bound"] <= 4.0 <= ns.value < 4.0 + 1e-9
    # the game CHSH is the same functional up to 8 V - 4 (win probability -> correlators)
    game = from_game(games.chsh())
    p = random_behaviour((2, 2), (2, 2), 0)
    assert chsh.value(p) == pytest.approx(8 * game.value(p) - 4, abs=1e-12)


def test_i3322_in_collins_gisin_form():
    i3322 = from_collins_gisin(I3322_CG, 2)
    assert functional_bound(i3322, "classical").value == pytest.approx(0.0, abs=1e-12)
    assert functional_bound(i3322, "nonsignaling").value == pytest.approx(1.0, abs=1e-9)
    npa = functional_bound(i3322, "npa", level=2)
    # NPA level 2 is above the quantum value 0.2508753845 and within 1e-3 of it
    assert 0.2508753845 <= npa.value <= 0.2508753845 + 1e-3


def test_cglmp3_values():
    cglmp = cglmp3()
    assert functional_bound(cglmp, "classical").value == pytest.approx(2.0, abs=1e-12)
    assert functional_bound(cglmp, "nonsignaling").value == pytest.approx(4.0, abs=1e-9)
    quantum = 1 + np.sqrt(11 / 3)
    npa = functional_bound(cglmp, "npa", level="1+AB")
    assert quantum - 1e-9 <= npa.value <= quantum + 1e-5
    seesaw = seesaw_lower_bound(cglmp.game, dim=3, restarts=4, seed=0)
    assert cglmp.scale * seesaw.value + cglmp.offset == pytest.approx(quantum, abs=1e-6)


@pytest.mark.parametrize("n_answers, n_questions", [((2, 2), (3, 3)), ((3, 2), (2, 3)),
                                                     ((2, 3, 2), (2, 1, 2))])
def test_round_trips_and_agreement_on_behaviours(n_answers, n_questions):
    rng = np.random.default_rng(1)
    shape = [1 + (a - 1) * q for a, q in zip(n_answers, n_questions)]
    F = rng.standard_normal(shape)
    functional = from_collins_gisin(F, n_answers)
    assert functional.to_collins_gisin() == pytest.approx(F, abs=1e-12)
    p = random_behaviour(n_answers, n_questions, 2)
    # the CG value computed directly: F · (CG coordinates of p), with c = T^+ p
    c = np.linalg.lstsq(collins_gisin_map(n_answers, n_questions).toarray(), p.ravel(),
                        rcond=None)[0]
    assert functional.value(p) == pytest.approx(F.ravel() @ c, abs=1e-10)
    if all(a == 2 for a in n_answers):
        FC = functional.to_correlators()
        again = from_correlators(FC)
        assert again.to_correlators() == pytest.approx(FC, abs=1e-12)
        assert again.value(p) == pytest.approx(functional.value(p), abs=1e-10)
    G, offset = functional.to_probability()
    assert from_probability(G, offset).value(p) == pytest.approx(functional.value(p), abs=1e-12)


def test_game_round_trip_and_chosen_question_distribution():
    game = games.tetra()
    functional = from_game(game)
    G, offset = functional.to_probability()
    again = from_probability(G, offset, question_dist=game.question_dist)
    assert np.allclose(again.game.predicate, game.predicate) and again.scale == 1.0
    assert functional_bound(again, "classical").value == pytest.approx(5 / 8, abs=1e-12)


def test_bad_arguments():
    with pytest.raises(ValueError, match="F must have shape"):
        from_collins_gisin(np.zeros((4, 4)), 2, n_questions=2)
    with pytest.raises(ValueError, match="F's shape"):
        from_collins_gisin(np.zeros((4, 4)), 3)
    with pytest.raises(ValueError, match="coefficients"):
        from_probability(np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="question_dist"):
        from_probability(np.ones((2, 2, 2, 2)), question_dist=np.array([[1.0, 0], [0, 0]]))
    with pytest.raises(TypeError, match="offset"):
        from_probability(np.ones((2, 2, 2, 2)), offset="1")
    with pytest.raises(ValueError, match="two answers"):
        from_game(games.tetra()).to_correlators()
    with pytest.raises(ValueError, match="kind"):
        functional_bound(from_game(games.chsh()), "quantum")
    with pytest.raises(TypeError, match="functional"):
        functional_bound(games.chsh(), "classical")
    assert isinstance(from_game(games.chsh()), BellFunctional)
