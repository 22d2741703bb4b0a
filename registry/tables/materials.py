"""Campaigns, compositions, computed (DFT) records and samples (see :mod:`registry.tables`)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field

from registry.tables.base import RegistryModel, json_field, ts_field


class CampaignRow(RegistryModel, table=True):
    """A named line of work (the bench's default campaign, a literature source, ...)."""

    __tablename__ = "campaigns"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    description: str | None = None
    created_at: datetime = ts_field()


class CompositionRow(RegistryModel, table=True):
    """A NASICON composition by its canonical formula, with occupancies and descriptors."""

    __tablename__ = "compositions"
    id: int | None = Field(default=None, primary_key=True)
    formula: str = Field(unique=True)
    na: float
    m_site: list = json_field()  # [[element, charge, amount per formula unit], ...]
    a_site: list = json_field()  # [[element, charge, amount per formula unit], ...]
    descriptors: dict = json_field()  # loop.descriptors columns of this composition
    descriptors_version: str
    created_at: datetime = ts_field()


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
    published: dict = json_field()  # every published column, by its published name
    citation: str
    data_repository: str | None = None
    license: str | None = None
    source_file: str
    source_sha256: str
    imported_at: datetime = ts_field()


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
    created_at: datetime = ts_field()
    created_by: str
