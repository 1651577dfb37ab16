"""The paper's experiments, one module each, as grids of cells that :mod:`qpolicy.sweep` runs.

* :mod:`qpolicy.studies.nonlocal_study` — Table 2 and Fig. 3 (REINFORCE on the nonlocal games)
  and the games' classical / NPA bounds;
* :mod:`qpolicy.studies.reproduce` — ``qpolicy reproduce``: the paper's claims as one table of
  checks that can fail;
* :mod:`qpolicy.studies.routing_study` — Fig. 5: MAPPO routing chains judged against the exact
  frontiers (study ``figure5``, one cell per chain);
* :mod:`qpolicy.studies.frontier_study` — the queueing frontiers, simulated optima and the size of
  the quantum advantage (study ``frontier``, cells per arrival rate and part);
* :mod:`qpolicy.studies.resource_study` — learning under noisy resources (App. F): see-saw
  thresholds, learners per visibility, the noisy routing frontier (studies ``resource_*``);
* :mod:`qpolicy.studies.certification_study` — certification from samples, wins vs PBR, best and
  learned tables (study ``certification``).

:data:`STUDIES` names the sweeps ``qpolicy sweep STUDY`` can run: study name → (module, grid
function, cell function).  A grid function takes keyword options (``qpolicy sweep --grid
key=value``) and returns the list of configurations; a cell function is
``cell(config, checkpoint) -> (summary, arrays)``.
"""

#: study name -> (module, grid function, cell function)
STUDIES = {
    "table2": ("qpolicy.studies.nonlocal_study", "table2_grid", "table2_cell"),
    "bounds": ("qpolicy.studies.nonlocal_study", "bounds_grid", "bounds_cell"),
    "figure5": ("qpolicy.studies.routing_study", "figure5_grid", "figure5_cell"),
    "frontier": ("qpolicy.studies.frontier_study", "frontier_grid", "frontier_cell"),
    "resource_threshold": ("qpolicy.studies.resource_study", "threshold_grid", "threshold_cell"),
    "resource_learning": ("qpolicy.studies.resource_study", "learning_grid", "learning_cell"),
    "resource_routing": ("qpolicy.studies.resource_study", "routing_grid", "routing_cell"),
    "certification": ("qpolicy.studies.certification_study", "certification_grid",
                      "certification_cell"),
}


def study(name):
    """``(grid, cell)`` functions of study ``name`` (see :data:`STUDIES`)."""
    import importlib
    if name not in STUDIES:
        raise ValueError(f"study must be one of {sorted(STUDIES)}, got {name!r}")
    module, grid, cell = STUDIES[name]
    module = importlib.import_module(module)
    return getattr(module, grid), getattr(module, cell)
