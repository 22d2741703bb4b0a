"""The registry's tables (SQLModel). Domain objects never see these rows; snapshots do.

Units are canonical and in the column names: temperatures in K, times in hours,
conductivities in S/cm, activation energies in eV, relative density as a fraction
(0-1], energies as the DFT data set gives them (Ehull meV/atom, Ewald and formation
energies eV/atom), lattice parameters in angstrom and degrees, time stamps UTC.

Outcome rows (synthesis, XRD, conductivity) are never updated or deleted (database
triggers refuse it, see the initial migration). A correction is a new row whose
``supersedes_id`` names the row it replaces; a retraction is a row with
``is_retraction`` set and no values. ``supersedes_id`` is unique, so every record's
history is a single chain; the current record of a chain is its last row unless that
is a retraction.

Every outcome table is :class:`OutcomeKey` + its values (``SynthesisValues``, ...; XRD and
conductivity add :class:`RawFileColumns`) + :class:`AuditColumns`: these classes are the one
definition of the outcome columns (:mod:`registry.tables.outcomes`). Records, batch CSV
columns and the registry's value lists derive from them (:func:`value_columns`), so a new
column is declared there only.

Modules: :mod:`~registry.tables.base` (metadata, column helpers),
:mod:`~registry.tables.materials` (campaigns, compositions, computed records, samples),
:mod:`~registry.tables.outcomes`, :mod:`~registry.tables.rounds` (model runs, rounds,
proposals) and :mod:`~registry.tables.people` (users, sessions); every table and
``metadata`` is importable from here.

Table names avoid optuna's (``studies``, ``trials``, ``version_info``, ...) so both can
share one database; the migration version lives in ``nasicon_alembic_version``.
"""

from __future__ import annotations

from registry.tables.base import (
    NAMING_CONVENTION,
    RegistryModel,
    json_field,
    metadata,
    ts_field,
)
from registry.tables.materials import CampaignRow, CompositionRow, ComputedRecordRow, SampleRow
from registry.tables.outcomes import (
    OUTCOME_TABLES,
    XRD_VERDICTS,
    AuditColumns,
    ConductivityRow,
    ConductivityValues,
    OutcomeKey,
    RawFileColumns,
    SynthesisRow,
    SynthesisValues,
    XRDRow,
    XRDValues,
    column_type,
    superseding,
    value_columns,
)
from registry.tables.people import USER_ROLES, LoginFailureRow, UserRow, WebSessionRow
from registry.tables.rounds import ModelRunRow, ProposalEventRow, ProposalRow, RoundRow

__all__ = [
    "NAMING_CONVENTION",
    "OUTCOME_TABLES",
    "USER_ROLES",
    "XRD_VERDICTS",
    "AuditColumns",
    "CampaignRow",
    "CompositionRow",
    "ComputedRecordRow",
    "ConductivityRow",
    "ConductivityValues",
    "LoginFailureRow",
    "ModelRunRow",
    "OutcomeKey",
    "ProposalEventRow",
    "ProposalRow",
    "RawFileColumns",
    "RegistryModel",
    "RoundRow",
    "SampleRow",
    "SynthesisRow",
    "SynthesisValues",
    "UserRow",
    "WebSessionRow",
    "XRDRow",
    "XRDValues",
    "column_type",
    "json_field",
    "metadata",
    "superseding",
    "ts_field",
    "value_columns",
]
