"""The :class:`Registry`: one narrow interface to the lab's records on SQLite or PostgreSQL.

Guarantees (the contract tests check them on both databases):

* Every public method is one transaction: it commits completely or changes nothing.
  Write transactions that meet a busy SQLite file (``database is locked``) or a
  PostgreSQL serialization failure / deadlock are retried with jittered exponential
  backoff, so concurrent writers queue instead of failing.
* Returned objects are frozen snapshots (:mod:`registry.snapshots`), detached from the
  database.
* Outcome records are immutable: corrections and retractions are new rows; the
  database refuses UPDATE and DELETE on them.
* Database errors surface as :class:`registry.errors.RegistryError` with one sentence
  that says what to do (unreachable server, missing or outdated schema, busy file).

Construct it with an engine (``Registry(engine)``) or a URL (``Registry.from_url``) and
pass it around; there is no module-level session factory.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session

from loop.chemistry import parse_nasicon
from loop.settings import NasiconConfig
from registry import compositions, computed, migrations, model_runs, outcomes, rounds
from registry import proposals as queue_ops
from registry.engine import display_url, is_sqlite, make_engine, parse_url, write_engine
from registry.errors import (
    ConflictError,
    NotFoundError,
    RegistryBusyError,
    RegistryError,
    RegistryUnavailableError,
    SchemaVersionError,
)
from registry.proposals import AddedProposals
from registry.queue import ProposalStatus
from registry.snapshots import (
    OUTCOME_KINDS,
    CampaignRecord,
    CompositionRecord,
    ModelRunRecord,
    OutcomeKind,
    OutcomeSnapshot,
    OutcomeWrite,
    ProposalEvent,
    ProposalRecord,
    RoundRecord,
    SampleHistory,
    SampleRecord,
    WriteReport,
)
from registry.tables import CampaignRow, ComputedRecordRow, SampleRow

log = logging.getLogger(__name__)
T = TypeVar("T")

_PG_RETRY_SQLSTATES = {"40001", "40P01"}  # serialization_failure, deadlock_detected


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class Registry:
    """The experiment registry over one database.

    Args:
        engine: SQLAlchemy engine (see :func:`registry.engine.make_engine`).
        check_schema: verify at construction that the schema is at the newest revision.
        claim_hours: how long a queue claim holds unless the caller says otherwise, h.
        max_wait_s: how long a transaction keeps retrying a busy database (SQLite lock,
            PostgreSQL serialization failure or deadlock) before the error is reported, s.
        busy_timeout_s: the SQLite busy timeout the engine was made with (for messages), s.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        check_schema: bool = True,
        claim_hours: float = 72.0,
        max_wait_s: float = 120.0,
        busy_timeout_s: float | None = None,
    ) -> None:
        self.engine = engine
        self._writer = write_engine(engine)
        self.claim_hours = claim_hours
        self.max_wait_s = max_wait_s
        self.busy_timeout_s = busy_timeout_s
        self.retries = 0  # transactions retried so far (busy / serialization / races)
        if check_schema:
            self.check_schema()

    # -- construction -------------------------------------------------------------------

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        busy_timeout_s: float = 30.0,
        check_schema: bool = True,
        claim_hours: float = 72.0,
    ) -> Registry:
        """Open the registry at ``url`` (``sqlite:///file.db``, ``postgresql+psycopg://...``).

        Raises:
            RegistryError: malformed URL; RegistryUnavailableError: cannot connect;
            SchemaVersionError: no schema or an outdated one (the message names the command).
        """
        parsed = parse_url(url)
        if check_schema and parsed.get_backend_name() == "sqlite" and parsed.database:
            path = Path(parsed.database)
            if parsed.database != ":memory:" and not path.exists():
                raise SchemaVersionError(
                    f"there is no registry database at {path}; create it with: "
                    + (
                        "nasicon init"
                        if str(url) == migrations.DEFAULT_URL
                        else f"nasicon --db '{url}' init"
                    )
                )
        engine = make_engine(parsed, busy_timeout_s=busy_timeout_s)
        try:
            return cls(
                engine,
                check_schema=check_schema,
                claim_hours=claim_hours,
                busy_timeout_s=busy_timeout_s,
            )
        except BaseException:
            engine.dispose()
            raise

    @classmethod
    def from_config(cls, config: NasiconConfig, *, check_schema: bool = True) -> Registry:
        """Open the registry configured in ``config`` (database URL, busy timeout, claim time)."""
        return cls.from_url(
            config.database.url,
            busy_timeout_s=config.database.busy_timeout_s,
            check_schema=check_schema,
            claim_hours=config.queue.claim_hours,
        )

    @property
    def url(self) -> str:
        """The database URL with any password masked."""
        return display_url(self.engine.url)

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- schema -------------------------------------------------------------------------

    def init_schema(self) -> str:
        """Create or upgrade the schema to the newest revision (alembic); returns it."""
        try:
            revision = migrations.upgrade(self.engine)
        except SQLAlchemyError as exc:
            raise self._translate(exc) from exc
        self._transact(lambda s: outcomes.ensure_campaign(s, outcomes.DEFAULT_CAMPAIGN))
        return revision

    def check_schema(self) -> str:
        """The schema revision; raises SchemaVersionError unless it is the newest."""
        try:
            return migrations.check_schema(self.engine)
        except SQLAlchemyError as exc:
            raise self._translate(exc) from exc

    def schema_revision(self) -> str | None:
        """The stored schema revision (None: no registry schema)."""
        try:
            return migrations.current_revision(self.engine)
        except SQLAlchemyError as exc:
            raise self._translate(exc) from exc

    # -- transactions -------------------------------------------------------------------

    def _translate(self, exc: SQLAlchemyError) -> RegistryError:
        msg = _first_line(exc)
        low = msg.lower()
        sqlite = is_sqlite(self.engine)
        if "immutable" in low:
            return RegistryError(
                f"{msg.split(':')[0]}: stored results are never changed; "
                "record a correction (--supersedes) or a retraction instead"
            )
        if isinstance(exc, IntegrityError):
            return ConflictError(f"the registry refused the write ({msg})")
        if sqlite and ("locked" in low or "busy" in low):
            return RegistryBusyError(
                f"the registry database {self.url} stayed locked by another writer "
                f"for more than {self.max_wait_s:g} s; try again in a moment"
            )
        if sqlite and "unable to open database file" in low:
            return RegistryUnavailableError(
                f"cannot open the SQLite registry file {self.engine.url.database}: "
                "check that its folder exists and is writable"
            )
        if "no such table" in low or ("does not exist" in low and "relation" in low):
            return SchemaVersionError(
                f"the registry database {self.url} lacks the registry tables ({msg}); "
                "run: nasicon db upgrade"
            )
        if (
            isinstance(exc, OperationalError | DBAPIError)
            and not sqlite
            and ("connect" in low or "connection" in low or "timeout" in low or "server" in low)
        ):
            return RegistryUnavailableError(
                f"cannot reach the registry database {self.url} ({msg}); check --db / "
                "NASICON_DB and that the server is running"
            )
        return RegistryError(f"registry database error at {self.url}: {msg}")

    def _retryable(self, exc: SQLAlchemyError, attempt: int, started: float) -> bool:
        if isinstance(exc, IntegrityError):
            return attempt <= 2  # a concurrent insert of the same key: re-run, then see it
        if not isinstance(exc, OperationalError | DBAPIError):
            return False
        if time.monotonic() - started > self.max_wait_s:
            return False
        if is_sqlite(self.engine):
            low = _first_line(exc).lower()
            return "locked" in low or "busy" in low
        return getattr(getattr(exc, "orig", None), "sqlstate", None) in _PG_RETRY_SQLSTATES

    def _backoff(self, attempt: int, exc: SQLAlchemyError) -> None:
        self.retries += 1
        delay = min(0.005 * 2**attempt, 0.25) * (0.5 + random.random())
        log.info("registry busy (%s); retry %d in %.3f s", _first_line(exc), attempt, delay)
        time.sleep(delay)

    def _transact(self, work: Callable[[Session], T], *, write: bool = True) -> T:
        """Run ``work(session)`` in one transaction, retrying busy/serialization failures."""
        engine = self._writer if write else self.engine
        started = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            try:
                with Session(engine, expire_on_commit=False) as session:
                    result = work(session)
                    session.commit()
                    return result
            except SQLAlchemyError as exc:
                if self._retryable(exc, attempt, started):
                    self._backoff(attempt, exc)
                    continue
                raise self._translate(exc) from exc

    @contextmanager
    def session(self, *, write: bool = True) -> Iterator[Session]:
        """A unit of work: commits at the end, rolls back on any error.

        The transaction starts (and for SQLite writes takes the write lock) before the
        block runs; a busy database is retried with backoff at that point. Database
        errors leave as :class:`RegistryError`. Prefer the methods of the registry, which
        also retry failures that happen later in the transaction.
        """
        engine = self._writer if write else self.engine
        session = Session(engine, expire_on_commit=False)
        started = time.monotonic()
        try:
            attempt = 0
            while True:
                attempt += 1
                try:
                    session.connection()  # BEGIN (IMMEDIATE for SQLite writes)
                    break
                except SQLAlchemyError as exc:
                    session.rollback()
                    if self._retryable(exc, attempt, started):
                        self._backoff(attempt, exc)
                        continue
                    raise self._translate(exc) from exc
            yield session
            session.commit()
        except SQLAlchemyError as exc:
            session.rollback()
            raise self._translate(exc) from exc
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    # -- campaigns and compositions -------------------------------------------------------

    def ensure_campaign(self, name: str, description: str | None = None) -> int:
        """Id of campaign ``name``, created if new."""
        return self._transact(lambda s: outcomes.ensure_campaign(s, name, description))

    def campaigns(self) -> list[CampaignRecord]:
        """Every campaign, oldest first."""

        def work(s: Session) -> list[CampaignRecord]:
            rows = s.execute(sa.select(CampaignRow).order_by(CampaignRow.id)).scalars()
            return [CampaignRecord(r.id, r.name, r.description, r.created_at) for r in rows]

        return self._transact(work, write=False)

    def ensure_composition(self, formula: str) -> int:
        """Id of the composition of ``formula`` (any notation; stored canonically if new).

        Raises:
            CompositionError: not a valid, charge-balanced NASICON formula.
        """
        comp = parse_nasicon(formula)
        return self._transact(lambda s: compositions.ensure_compositions(s, [comp])[comp.formula])

    def ensure_compositions(self, formulas: Sequence[str]) -> dict[str, int]:
        """Canonical formula -> id for many formulas at once (descriptors vectorised)."""
        comps = [parse_nasicon(f) for f in formulas]
        return self._transact(lambda s: compositions.ensure_compositions(s, comps))

    def composition(self, formula: str) -> CompositionRecord | None:
        """The stored composition of ``formula``, or None."""
        return self._transact(lambda s: compositions.get_composition(s, formula), write=False)

    def compositions_by_formula(self, formulas: Sequence[str]) -> dict[str, CompositionRecord]:
        """Stored compositions of canonical ``formulas`` (unknown ones are left out)."""

        def work(s: Session) -> dict[str, CompositionRecord]:
            wanted = list(dict.fromkeys(formulas))
            out: dict[str, CompositionRecord] = {}
            for start in range(0, len(wanted), compositions.CHUNK):
                stmt = sa.select(compositions.CompositionRow).where(
                    compositions.CompositionRow.formula.in_(
                        wanted[start : start + compositions.CHUNK]
                    )
                )
                for row in s.execute(stmt).scalars():
                    out[row.formula] = compositions.to_record(row)
            return out

        return self._transact(work, write=False)

    def compositions_frame(self) -> Any:
        """Every stored composition with its cached descriptors (pandas DataFrame)."""
        import pandas as pd

        def work(s: Session) -> list[dict[str, Any]]:
            rows = s.execute(sa.select(compositions.CompositionRow)).scalars()
            return [{"composition_id": r.id, "formula": r.formula, **r.descriptors} for r in rows]

        return pd.DataFrame(self._transact(work, write=False))

    # -- computed records -----------------------------------------------------------------

    def add_computed_records(
        self, source: str, records: Sequence[Mapping[str, Any]]
    ) -> tuple[int, int]:
        """Store computed records of ``source`` in one transaction; (added, unchanged).

        Each record has ``formula`` (any notation) and the columns of
        :class:`registry.tables.ComputedRecordRow` (``dataset_formula``, ``ehull_mev``,
        ``published``, ``citation``, ``source_file``, ``source_sha256``, optional
        ``split``, ``ewald_ev_per_atom``, ``formation_energy_ev_per_atom``,
        ``data_repository``, ``license``). Idempotent: re-adding identical records
        changes nothing; a record that differs from the stored one is refused.
        """
        comps = [parse_nasicon(str(r["formula"])) for r in records]
        return self._transact(lambda s: computed.add_computed_records(s, source, comps, records))

    def computed_records(self, source: str | None = None) -> Any:
        """Computed records joined with canonical formulas (pandas DataFrame)."""
        import pandas as pd

        def work(s: Session) -> list[dict[str, Any]]:
            stmt = sa.select(ComputedRecordRow, compositions.CompositionRow.formula).join(
                compositions.CompositionRow,
                ComputedRecordRow.composition_id == compositions.CompositionRow.id,
            )
            if source is not None:
                stmt = stmt.where(ComputedRecordRow.source == source)
            out = []
            for row, formula in s.execute(stmt.order_by(ComputedRecordRow.id)):
                data = {c.name: getattr(row, c.name) for c in ComputedRecordRow.__table__.columns}
                out.append({"formula": formula, **data})
            return out

        return pd.DataFrame(self._transact(work, write=False))

    # -- outcomes ----------------------------------------------------------------------------

    def write_outcomes(
        self,
        writes: Sequence[OutcomeWrite],
        *,
        recorded_by: str,
        skip_identical: bool = False,
        create_campaigns: bool = False,
        dry_run: bool = False,
    ) -> WriteReport:
        """Store synthesis / XRD / conductivity rows in one transaction (all or nothing).

        Args:
            writes: the rows, in order (a sample created by one write can be used by a later).
            recorded_by: who records them.
            skip_identical: a write identical to a stored current row is skipped (reported
                as unchanged) instead of refused or duplicated; makes imports idempotent.
            create_campaigns: create unknown campaigns instead of refusing the write.
            dry_run: check everything, then roll back (nothing is stored).

        Raises:
            RecordErrors: one or more writes were refused; ``problems`` lists them all.
        """

        def work(s: Session) -> WriteReport:
            report = outcomes.write_outcomes(
                s,
                writes,
                recorded_by=recorded_by,
                skip_identical=skip_identical,
                create_campaigns=create_campaigns,
            )
            if dry_run:
                s.rollback()
            return report

        return self._transact(work)

    def retract(self, kind: OutcomeKind, record_id: int, *, reason: str, recorded_by: str) -> int:
        """Withdraw a current outcome row (it stays in the history); id of the retraction."""
        return self._transact(
            lambda s: outcomes.retract(s, kind, record_id, reason=reason, recorded_by=recorded_by)
        )

    def sample(self, sample_id: str, campaign: str | None = None) -> SampleRecord:
        """The sample ``sample_id`` (of ``campaign``, or the one campaign that has it)."""
        return self._transact(
            lambda s: outcomes.sample_record(s, outcomes.find_sample(s, sample_id, campaign)),
            write=False,
        )

    def samples(self) -> list[SampleRecord]:
        """Every sample, oldest first."""

        def work(s: Session) -> list[SampleRecord]:
            rows = s.execute(sa.select(SampleRow).order_by(SampleRow.id)).scalars().all()
            return [outcomes.sample_record(s, r) for r in rows]

        return self._transact(work, write=False)

    def outcomes(
        self,
        *,
        kinds: Sequence[OutcomeKind] = OUTCOME_KINDS,
        include_history: bool = False,
        since: datetime | None = None,
    ) -> list[OutcomeSnapshot]:
        """Outcome rows with sample and formula; only current ones unless ``include_history``."""
        return self._transact(
            lambda s: outcomes.outcome_snapshots(
                s, kinds=kinds, include_history=include_history, since=since
            ),
            write=False,
        )

    def history(self, sample_id: str, campaign: str | None = None) -> SampleHistory:
        """Everything recorded about a sample (all versions), with its proposal's events."""

        def work(s: Session) -> SampleHistory:
            row = outcomes.find_sample(s, sample_id, campaign)
            sample = outcomes.sample_record(s, row)
            recs = outcomes.outcome_snapshots(s, include_history=True, sample_pks=[row.id])
            order = {k: i for i, k in enumerate(OUTCOME_KINDS)}
            recs.sort(key=lambda r: (r.recorded_at, order[r.kind], r.id))
            proposal = None
            events: list[ProposalEvent] = []
            if row.proposal_id is not None:
                prow = queue_ops.get_row(s, row.proposal_id)
                proposal = queue_ops.records(s, [prow])[0]
                events = queue_ops.events(s, row.proposal_id)
            return SampleHistory(sample, tuple(recs), proposal, tuple(events))

        return self._transact(work, write=False)

    # -- model runs ----------------------------------------------------------------------------

    def add_model_run(
        self,
        *,
        round_number: int | None,
        algorithm: str,
        scope: str,
        hyperparameters: Mapping[str, Any],
        fold_metrics: Sequence[Mapping[str, Any]],
        metrics: Mapping[str, Any],
        is_champion: bool,
        artifact_path: str | None,
        artifact_sha256: str | None,
        training_data_sha256: str,
        library_versions: Mapping[str, Any],
        n_train: int,
    ) -> int:
        """Store a model run; idempotent per (round_number, algorithm) (returns the stored id)."""
        return self._transact(
            lambda s: model_runs.add_model_run(
                s,
                round_number=round_number,
                algorithm=algorithm,
                scope=scope,
                hyperparameters=hyperparameters,
                fold_metrics=fold_metrics,
                metrics=metrics,
                is_champion=is_champion,
                artifact_path=artifact_path,
                artifact_sha256=artifact_sha256,
                training_data_sha256=training_data_sha256,
                library_versions=library_versions,
                n_train=n_train,
            )
        )

    def model_runs(self, round_number: int | None = None) -> list[ModelRunRecord]:
        """Model runs (of one round, or all), oldest first."""
        return self._transact(lambda s: model_runs.model_runs(s, round_number), write=False)

    def model_run(self, run_id: int) -> ModelRunRecord:
        """One model run.

        Raises:
            NotFoundError: no such run.
        """

        def work(s: Session) -> ModelRunRecord:
            row = s.get(model_runs.ModelRunRow, run_id)
            if row is None:
                raise NotFoundError(f"there is no model run {run_id} (see nasicon models list)")
            return model_runs.to_record(row)

        return self._transact(work, write=False)

    def set_champion(self, run_id: int) -> None:
        """Make ``run_id`` its round's one champion."""
        self._transact(lambda s: model_runs.set_champion(s, run_id))

    def champion(self) -> ModelRunRecord | None:
        """The global champion: the champion of the latest round that has one."""
        return self._transact(model_runs.champion, write=False)

    # -- proposals and the queue -------------------------------------------------------------

    def add_proposals(
        self, round_number: int | None, proposals: Sequence[Mapping[str, Any]]
    ) -> AddedProposals:
        """Queue proposals in one transaction; idempotent per (round_number, formula).

        Each item has ``formula``, ``strategy`` and optionally ``model_run_id``,
        ``probabilities`` (model -> P), ``acquisition_score``, ``reason``. A composition
        already open in the queue or already measured is skipped; the returned list holds
        the ids of the queued proposals (repeats of this round included) and its
        ``skipped`` maps each skipped formula to the reason.
        """

        def work(s: Session) -> AddedProposals:
            measured = outcomes.labelled_composition_ids(s)
            return queue_ops.add_proposals(s, round_number, proposals, measured)

        return self._transact(work)

    def excluded_formulas(self) -> set[str]:
        """Canonical formulas not to propose: open in the queue, or already measured."""

        def work(s: Session) -> set[str]:
            queue_ops.expire_claims(s)
            ids = queue_ops.open_composition_ids(s) | outcomes.labelled_composition_ids(s)
            return set(compositions.formulas_by_id(s, ids).values())

        return self._transact(work)

    def _proposal_op(self, op: Callable[[Session], Any]) -> ProposalRecord:
        def work(s: Session) -> ProposalRecord:
            row = op(s)
            return queue_ops.records(s, [row])[0]

        return self._transact(work)

    def claim(self, proposal_id: int, who: str, hours: float | None = None) -> ProposalRecord:
        """Claim a queued proposal for ``hours`` (default ``claim_hours``)."""
        hours = self.claim_hours if hours is None else hours
        return self._proposal_op(lambda s: queue_ops.claim(s, proposal_id, who, hours))

    def release(self, proposal_id: int, who: str) -> ProposalRecord:
        """Return a claimed proposal to the queue."""
        return self._proposal_op(lambda s: queue_ops.release(s, proposal_id, who))

    def abandon(self, proposal_id: int, reason: str, who: str) -> ProposalRecord:
        """Abandon a proposal (the reason is kept)."""
        return self._proposal_op(
            lambda s: queue_ops.close(s, proposal_id, ProposalStatus.ABANDONED, reason, who)
        )

    def reject(self, proposal_id: int, reason: str, who: str) -> ProposalRecord:
        """Reject a queued proposal before anyone makes it (the reason is kept)."""
        return self._proposal_op(
            lambda s: queue_ops.close(s, proposal_id, ProposalStatus.REJECTED, reason, who)
        )

    def expire_claims(self, now: datetime | None = None) -> list[int]:
        """Return lapsed claims to the queue; ids of the proposals released."""
        return self._transact(lambda s: queue_ops.expire_claims(s, now))

    def list_proposals(
        self,
        status: ProposalStatus | str | Sequence[ProposalStatus | str] | None = None,
        round_number: int | None = None,
    ) -> list[ProposalRecord]:
        """Proposals (after returning lapsed claims to the queue), oldest first."""

        def work(s: Session) -> list[ProposalRecord]:
            queue_ops.expire_claims(s)
            return queue_ops.records(s, queue_ops.list_rows(s, status, round_number))

        return self._transact(work)

    def proposal(self, proposal_id: int) -> ProposalRecord:
        """One proposal."""
        return self._transact(
            lambda s: queue_ops.records(s, [queue_ops.get_row(s, proposal_id)])[0], write=False
        )

    def proposal_events(self, proposal_id: int) -> list[ProposalEvent]:
        """Every status change of a proposal, oldest first."""
        return self._transact(lambda s: queue_ops.events(s, proposal_id), write=False)

    # -- rounds -------------------------------------------------------------------------------

    def start_round(self, number: int, flow_run_id: str | None = None) -> RoundRecord:
        """Start round ``number`` (idempotent: a second call returns the same round)."""
        return self._transact(lambda s: rounds.start_round(s, number, flow_run_id))

    def finish_round(
        self, number: int, champion_run_id: int | None, n_new_labels: int, n_proposals: int
    ) -> RoundRecord:
        """Mark a round finished with its champion, labels used and proposals made."""
        return self._transact(
            lambda s: rounds.finish_round(s, number, champion_run_id, n_new_labels, n_proposals)
        )

    def latest_round(self) -> RoundRecord | None:
        """The round with the highest number, or None."""
        return self._transact(rounds.latest_round, write=False)

    def rounds(self) -> list[RoundRecord]:
        """Every round, in order."""
        return self._transact(rounds.all_rounds, write=False)

    def labels_since_last_round(self) -> int:
        """Experimental labels (XRD results, failed syntheses) recorded since the latest
        round started (all of them when there has been no round)."""

        def work(s: Session) -> int:
            latest = rounds.latest_round(s)
            return outcomes.count_label_events(s, None if latest is None else latest.started_at)

        return self._transact(work, write=False)
