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
definition of the outcome columns. Records, batch CSV columns and the registry's value lists
derive from them (:func:`value_columns`), so a new column is declared here only.

Table names avoid optuna's (``studies``, ``trials``, ``version_info``, ...) so both can
share one database; the migration version lives in ``nasicon_alembic_version``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, TypeVar, get_args, get_origin

import sqlalchemy as sa
from sqlalchemy.orm import registry as orm_registry
from sqlmodel import Field, SQLModel

from registry.queue import OPEN, ProposalStatus
from registry.types import UTCDateTime, utcnow

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


_ORM = orm_registry(metadata=sa.MetaData(naming_convention=NAMING_CONVENTION))


class RegistryModel(SQLModel, registry=_ORM):
    """Base of every registry table (own metadata, so no other SQLModel tables mix in)."""


metadata: sa.MetaData = RegistryModel.metadata

#: Outcome tables whose rows are immutable (triggers refuse UPDATE and DELETE).
IMMUTABLE_TABLES = (
    "computed_records",
    "synthesis_records",
    "xrd_results",
    "conductivity_results",
    "proposal_events",
)
_OPEN_SQL = ", ".join(f"'{s.value}'" for s in OPEN)
_STATUS_SQL = ", ".join(f"'{s.value}'" for s in ProposalStatus)


def _ts(**kw: Any) -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False, **kw)


def _json(nullable: bool = False) -> Any:
    return Field(default=None if nullable else ..., sa_type=sa.JSON, nullable=nullable)


class CampaignRow(RegistryModel, table=True):
    """A named line of work (the bench's default campaign, a literature source, ...)."""

    __tablename__ = "campaigns"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    description: str | None = None
    created_at: datetime = _ts()


class CompositionRow(RegistryModel, table=True):
    """A NASICON composition by its canonical formula, with occupancies and descriptors."""

    __tablename__ = "compositions"
    id: int | None = Field(default=None, primary_key=True)
    formula: str = Field(unique=True)
    na: float
    m_site: list = _json()  # [[element, charge, amount per formula unit], ...]
    a_site: list = _json()  # [[element, charge, amount per formula unit], ...]
    descriptors: dict = _json()  # loop.descriptors columns of this composition
    descriptors_version: str
    created_at: datetime = _ts()


class ComputedRecordRow(RegistryModel, table=True):
    """A computed (DFT) record of a composition with its provenance."""

    __tablename__ = "computed_records"
    __table_args__ = (sa.UniqueConstraint("source", "dataset_formula"),)
    id: int | None = Field(default=None, primary_key=True)
    composition_id: int = Field(foreign_key="compositions.id", index=True)
    source: str
    dataset_formula: str  # the formula as the data set writes it
    split: str | None = None  # the published train/test split
    ehull_mev: float  # Ehull(1000 K), meV/atom
    ewald_ev_per_atom: float | None = None
    formation_energy_ev_per_atom: float | None = None
    published: dict = _json()  # every published column, by its published name
    citation: str
    data_repository: str | None = None
    license: str | None = None
    source_file: str
    source_sha256: str
    imported_at: datetime = _ts()


class SampleRow(RegistryModel, table=True):
    """One physical sample (a repeat of a composition is another sample)."""

    __tablename__ = "samples"
    __table_args__ = (
        sa.UniqueConstraint("campaign_id", "sample_id"),
        # ids are compared case-insensitively: S001 and s001 are one sample (migration 0006)
        sa.Index(
            "uq_samples_campaign_sample_id_lower",
            sa.column("campaign_id"),
            sa.func.lower(sa.column("sample_id")),
            unique=True,
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    campaign_id: int = Field(foreign_key="campaigns.id")
    sample_id: str  # the lab's code, unique per campaign
    composition_id: int = Field(foreign_key="compositions.id", index=True)
    proposal_id: int | None = Field(default=None, foreign_key="proposals.id", index=True)
    source: str = "bench"
    citation: str | None = None
    created_at: datetime = _ts()
    created_by: str


class OutcomeKey(RegistryModel):
    """The keys of an outcome row: its id and the sample it belongs to."""

    id: int | None = Field(default=None, primary_key=True)
    sample_pk: int = Field(foreign_key="samples.id", index=True)


class RawFileColumns(RegistryModel):
    """The raw data file a result was read from (kept by SHA-256) and the analysis version."""

    raw_path: str | None = None
    raw_sha256: str | None = None
    analysis_version: str | None = None


class AuditColumns(RegistryModel):
    """The correction trail of every outcome row (see the module docstring). ``supersedes_id``
    names a row of the same table: :func:`superseding` declares that foreign key per table."""

    supersedes_id: int | None = Field(default=None, unique=True)
    is_retraction: bool = False
    reason: str | None = None
    recorded_by: str
    recorded_at: datetime = _ts()

    @staticmethod
    def checks(*extra: tuple[str, str]) -> tuple[sa.CheckConstraint, ...]:
        """Check constraints of an outcome table: the shared ones, then ``extra`` (name, SQL)."""
        shared = [("retraction_names_target", "NOT is_retraction OR supersedes_id IS NOT NULL")]
        return tuple(sa.CheckConstraint(sql, name=name) for name, sql in [*shared, *extra])


M = TypeVar("M", bound=type[AuditColumns])


def superseding(cls: M) -> M:
    """Class decorator of an outcome table: ``supersedes_id`` references the table's own ``id``."""
    table: sa.Table = cls.__table__  # type: ignore[attr-defined]
    table.append_constraint(sa.ForeignKeyConstraint(["supersedes_id"], [table.c.id]))
    return cls


def _range(column: str, low: str, high: str | None = None) -> tuple[str, str]:
    cond = f"{column} {low}" + (f" AND {column} {high}" if high else "")
    return (f"{column}_range", f"{column} IS NULL OR ({cond})")


# The columns come in field order, bases last to first: keys, values, audit trail.


class SynthesisValues(RegistryModel):
    """What a synthesis row records (temperatures in K, times in h)."""

    succeeded: bool | None = None
    precursors: str | None = None
    calcination_temperature_k: float | None = None
    calcination_hours: float | None = None
    sintering_temperature_k: float | None = None
    sintering_hours: float | None = None
    atmosphere: str | None = None
    operator: str | None = None
    synthesized_on: date | None = None
    notes: str | None = None


@superseding
class SynthesisRow(AuditColumns, SynthesisValues, OutcomeKey, table=True):
    """A synthesis attempt of a sample."""

    __tablename__ = "synthesis_records"
    __table_args__ = AuditColumns.checks(
        ("outcome_given", "is_retraction OR succeeded IS NOT NULL"),
        _range("calcination_temperature_k", ">= 0"),
        _range("sintering_temperature_k", ">= 0"),
        _range("calcination_hours", ">= 0"),
        _range("sintering_hours", ">= 0"),
    )


class XRDValues(RegistryModel):
    """What a powder XRD row records: phases (weight fractions where known), verdict, cell."""

    phases: list | None = _json(nullable=True)  # [{"name", "weight_fraction" | null}, ...]
    impurity_fraction: float | None = None  # secondary phases, weight fraction, when known
    phase_pure: bool | None = None
    space_group: str | None = None
    a_a: float | None = None
    b_a: float | None = None
    c_a: float | None = None
    alpha_deg: float | None = None
    beta_deg: float | None = None
    gamma_deg: float | None = None
    rwp: float | None = None
    notes: str | None = None
    verdict: str | None = None  # phase_pure, impure, no_nasicon or inconclusive (analysis)
    verdict_reason: str | None = None  # why the analysis reached its verdict


#: The verdicts of a powder pattern analysis; only the first two make a synthesis label.
XRD_VERDICTS = ("phase_pure", "impure", "no_nasicon", "inconclusive")


@superseding
class XRDRow(AuditColumns, RawFileColumns, XRDValues, OutcomeKey, table=True):
    """A powder XRD result of a sample."""

    __tablename__ = "xrd_results"
    __table_args__ = AuditColumns.checks(
        ("verdict_given", "is_retraction OR phase_pure IS NOT NULL OR verdict IS NOT NULL"),
        (
            "verdict_known",
            "verdict IS NULL OR verdict IN ("
            + ", ".join(f"'{v}'" for v in XRD_VERDICTS)
            + ")",
        ),
        _range("impurity_fraction", ">= 0", "<= 1"),
    )


class ConductivityValues(RegistryModel):
    """What a conductivity row records: S/cm at a measurement temperature in K."""

    sigma_total_s_cm: float | None = None
    sigma_bulk_s_cm: float | None = None
    sigma_gb_s_cm: float | None = None
    temperature_k: float | None = None
    ea_ev: float | None = None
    relative_density: float | None = None
    ccd_ma_cm2: float | None = None  # critical current density, mA/cm2
    notes: str | None = None


@superseding
class ConductivityRow(AuditColumns, RawFileColumns, ConductivityValues, OutcomeKey, table=True):
    """An ionic conductivity result of a sample."""

    __tablename__ = "conductivity_results"
    __table_args__ = AuditColumns.checks(
        (
            "value_given",
            "is_retraction OR sigma_total_s_cm IS NOT NULL OR sigma_bulk_s_cm IS NOT NULL "
            "OR sigma_gb_s_cm IS NOT NULL",
        ),
        ("temperature_given", "is_retraction OR temperature_k IS NOT NULL"),
        _range("sigma_total_s_cm", "> 0", "<= 10"),
        _range("sigma_bulk_s_cm", "> 0", "<= 10"),
        _range("sigma_gb_s_cm", "> 0", "<= 10"),
        _range("temperature_k", ">= 0"),
        _range("ea_ev", "> 0"),
        _range("relative_density", "> 0", "<= 1"),
    )


#: Outcome kind -> its table.
OUTCOME_TABLES: dict[str, type[AuditColumns]] = {
    "synthesis": SynthesisRow,
    "xrd": XRDRow,
    "conductivity": ConductivityRow,
}
_NOT_VALUES = frozenset(OutcomeKey.model_fields) | frozenset(AuditColumns.model_fields)


def value_columns(kind: str) -> tuple[str, ...]:
    """The columns of an outcome kind that hold its result (not its keys or audit trail)."""
    return tuple(n for n in OUTCOME_TABLES[kind].model_fields if n not in _NOT_VALUES)


def column_type(kind: str, name: str) -> type:
    """The Python type of a value column (``float`` for ``float | None``, ...)."""
    annotation = OUTCOME_TABLES[kind].model_fields[name].annotation
    args = [a for a in get_args(annotation) if a is not type(None)]
    base = args[0] if args else annotation
    return get_origin(base) or base


class ModelRunRow(RegistryModel, table=True):
    """One trained model of a round: its settings, CV metrics and artifact."""

    __tablename__ = "model_runs"
    __table_args__ = (
        sa.Index(
            "uq_model_runs_round_algorithm",
            sa.func.coalesce(sa.column("round_number"), -1),
            sa.column("algorithm"),
            unique=True,
        ),
        sa.Index(
            "uq_model_runs_champion_per_round",
            sa.func.coalesce(sa.column("round_number"), -1),
            unique=True,
            sqlite_where=sa.text("is_champion"),
            postgresql_where=sa.text("is_champion"),
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    round_number: int | None = None
    algorithm: str
    scope: str
    hyperparameters: dict = _json()
    fold_metrics: list = _json()
    metrics: dict = _json()
    is_champion: bool = False
    artifact_path: str | None = None
    artifact_sha256: str | None = None
    training_data_sha256: str
    library_versions: dict = _json()
    n_train: int
    created_at: datetime = _ts()


class RoundRow(RegistryModel, table=True):
    """One closed-loop round."""

    __tablename__ = "rounds"
    __table_args__ = (sa.CheckConstraint("status IN ('running', 'finished')", name="status_known"),)
    id: int | None = Field(default=None, primary_key=True)
    number: int = Field(unique=True)
    flow_run_id: str | None = None
    status: str = "running"
    started_at: datetime = _ts()
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    champion_run_id: int | None = Field(default=None, foreign_key="model_runs.id")
    n_new_labels: int | None = None
    n_proposals: int | None = None


class ProposalRow(RegistryModel, table=True):
    """A composition proposed for synthesis, with why, and where it is in the lab."""

    __tablename__ = "proposals"
    __table_args__ = (
        sa.Index(
            "uq_proposals_round_composition",
            sa.func.coalesce(sa.column("round_number"), -1),
            sa.column("composition_id"),
            unique=True,
        ),
        sa.Index(
            "uq_proposals_open_composition",
            sa.column("composition_id"),
            unique=True,
            sqlite_where=sa.text(f"status IN ({_OPEN_SQL})"),
            postgresql_where=sa.text(f"status IN ({_OPEN_SQL})"),
        ),
        sa.CheckConstraint(f"status IN ({_STATUS_SQL})", name="status_known"),
    )
    id: int | None = Field(default=None, primary_key=True)
    round_number: int | None = None
    composition_id: int = Field(foreign_key="compositions.id")
    model_run_id: int | None = Field(default=None, foreign_key="model_runs.id")
    probabilities: dict = _json()  # model name -> P(synthesizable)
    acquisition_score: float | None = None
    strategy: str
    reason: str | None = None
    in_domain: bool | None = None  # in the champion round's training domain (None: unchecked)
    domain_reason: str | None = None  # why not
    # -- the recommender's objectives (migration 0005) --
    p_forms: float | None = None  # P(forms), mean over the committee
    p_forms_sd: float | None = None  # its spread over the committee
    log10_sigma_s_cm: float | None = None  # predicted log10 conductivity at 25 C, S/cm
    log10_sigma_sd: float | None = None  # its predictive sd
    objective: str | None = None  # synthesis, conductivity or both
    signal: str | None = None  # what the surrogate learned from (labels, ehull)
    # -- end 0005 --
    status: str = ProposalStatus.QUEUED.value
    status_reason: str | None = None  # why abandoned / rejected
    status_changed_at: datetime = _ts()
    status_changed_by: str | None = None
    claimed_by: str | None = None
    claim_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = _ts()


class ProposalEventRow(RegistryModel, table=True):
    """A status change of a proposal: from, to, who, when, why."""

    __tablename__ = "proposal_events"
    id: int | None = Field(default=None, primary_key=True)
    proposal_id: int = Field(foreign_key="proposals.id", index=True)
    from_status: str | None = None
    to_status: str
    who: str
    reason: str | None = None
    at: datetime = _ts()


# -- the web page's people: users, API tokens, browser sessions, failed logins -------------

#: Roles of a user, each allowed what the ones before it are: viewer reads; lab records and
#: claims; admin also manages users.
USER_ROLES = ("viewer", "lab", "admin")


class UserRow(RegistryModel, table=True):
    """A person who logs in to the web page or calls its API. Secrets are kept only as
    hashes: the password with argon2id, the API token (random, 256 bits) with SHA-256."""

    __tablename__ = "users"
    __table_args__ = (
        sa.CheckConstraint(
            "role IN (" + ", ".join(f"'{r}'" for r in USER_ROLES) + ")", name="role_known"
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    role: str
    password_hash: str
    token_sha256: str | None = Field(default=None, unique=True)
    token_created_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    disabled: bool = False
    created_at: datetime = _ts()
    created_by: str


class WebSessionRow(RegistryModel, table=True):
    """A browser session after a password login: the cookie's SHA-256 (never the cookie),
    the CSRF token every form of the session carries, and when it ends."""

    __tablename__ = "web_sessions"
    id: int | None = Field(default=None, primary_key=True)
    token_sha256: str = Field(unique=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    csrf_token: str
    client: str | None = None
    created_at: datetime = _ts()
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


class LoginFailureRow(RegistryModel, table=True):
    """A failed password login: the name tried and the client address (rate limiting, in
    the database so that every worker of the web page counts the same failures)."""

    __tablename__ = "login_failures"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True)
    client: str = Field(index=True)
    at: datetime = _ts(index=True)
