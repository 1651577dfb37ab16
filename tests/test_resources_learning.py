"""Learning under a realistic resource: the parameterization implements the given state, the
measurement family and the detection loss, and a learned policy never beats the see-saw value
of its resource (values are exact Born-rule values of the best iterate: no estimator noise)."""
import numpy as np
import pytest

import qpolicy as qp
from qpolicy import games
from qpolicy.learn import reinforce
from qpolicy.learn.parameterizations import Entangled
from qpolicy.resources import detection_povms, resource_value, white_noise


def test_entangled_with_a_given_state_real_measurements_and_loss_is_that_born_rule():
    game = games.chsh()
    rho = white_noise(qp.bell_state(), 0.7)
    lossless = Entangled(game, state=rho, measurements="real")
    lossy = Entangled(game, state=rho, measurements="real", efficiency=0.8, no_click=1)
    params = lossless.init(np.random.default_rng(0), seeds=2)
    assert "povm0_im" not in params and lossless.dim == 2
    ideal = lossless.povms(params)
    assert all(np.abs(M.imag).max() == 0 for M in ideal)
    for s in range(2):
        expected = qp.born(rho, detection_povms([M[s] for M in ideal], 0.8, no_click=1))
        assert np.allclose(lossy.tables(params)[s], expected, atol=1e-12)


def test_learned_value_never_beats_the_seesaw_value_of_its_resource():
    game = games.chsh()
    rho = white_noise(qp.bell_state(), 0.8)
    for options in ({}, {"efficiency": 0.9}):
        run = reinforce.train(game, state=rho, seeds=2, steps=60, batch=128, progress=False,
                              seed=0, **options)
        bound = resource_value(game, state=rho, seed=0, upper=None, **options).value
        assert run.best_values.max() <= bound + 1e-9
    # real measurements on the real GHZ state give product correlators: never above 3/4
    run = reinforce.train(games.ghz(), state=qp.ghz_state(3), measurements="real", seeds=2,
                          steps=60, batch=128, progress=False, seed=0)
    assert run.best_values.max() <= 0.75 + 1e-9


def test_resource_options_are_validated_by_name():
    game = games.chsh()
    with pytest.raises(ValueError, match="measurements"):
        Entangled(game, measurements="projective")
    with pytest.raises(ValueError, match="efficiency"):
        Entangled(game, efficiency=0)
    with pytest.raises(ValueError, match="no_click"):
        Entangled(game, no_click=2)
    with pytest.raises(ValueError, match="state"):
        Entangled(game, state=np.eye(8) / 8)
    with pytest.raises(ValueError, match="checkpoint"):
        reinforce.train(game, state=qp.bell_state(), steps=1, checkpoint="/tmp/x.npz",
                        progress=False)
