"""The operations the CLI, the flows and a web page share, as plain functions over a registry.

One module per operation:

==============  ===========================================================================
``rounds``      round numbers, open / resume / close a round, new labels since a round
``retrain``     read the training data, train, store the model runs (one transaction)
``propose``     screen a design space with the champion's round, pick a batch, queue it
                (its request, plan and result types in ``propose_types``)
``record``      store typed or analysed outcomes, corrections, retractions
``queue``       list, claim, release, abandon, reject proposals
``ingest``      record a batch file and count the labels since the last round
==============  ===========================================================================

Each service takes a :class:`registry.Registry` (and settings) with typed arguments, writes
in ONE unit of work, and returns a plain result (a dataclass with ``to_dict()``, or a
registry snapshot). Nothing here imports Prefect: :mod:`flows.retrain`, :mod:`flows.propose`,
:mod:`flows.round` and :mod:`flows.ingest` wrap these functions in tasks, and the CLI calls
them directly.
"""
