"""Typed settings of one installation: the sections of ``nasicon.toml`` and their defaults.

Pure data: nothing here reads a file or the environment. :mod:`nasicon.settings` loads them
(TOML file + environment overrides) and hands the validated object down to the layers below.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

#: Default locations of the shared data, relative to the working directory.
DEFAULT_DFT_DATA = Path("../shared/data/nasicon_dft")
DEFAULT_LITERATURE_DATA = Path("../shared/data/literature/zuo2026_entropy_nzsp.csv")
DEFAULT_MADE_DATA = Path("../shared/data/experimental/ouyang2021_made_compositions.json")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class DatabaseConfig(_Section):
    """Registry database."""

    url: str = Field("sqlite:///nasicon.db", description="SQLAlchemy URL (env NASICON_DB)")
    busy_timeout_s: float = Field(30.0, gt=0, description="SQLite busy timeout, s")


class DataConfig(_Section):
    """Where input data sets live and where raw measurement files are stored."""

    dft_path: Path = Field(DEFAULT_DFT_DATA, description="folder of train.csv/test.csv")
    literature_path: Path = DEFAULT_LITERATURE_DATA
    made_path: Path = Field(
        DEFAULT_MADE_DATA, description="JSON of compositions reported as made (Ouyang 2021)"
    )
    raw_store: Path = Field(Path("nasicon_data/raw"), description="content-addressed raw files")
    reports_dir: Path = Path("reports")


class LabelConfig(_Section):
    """How outcomes become synthesizability labels."""

    impurity_threshold: float = Field(
        0.02, ge=0, le=1, description="secondary-phase weight fraction above which not pure"
    )
    experimental_weight: float = Field(
        5.0, gt=0, description="sample weight of an experimental label relative to DFT"
    )
    ehull_threshold_mev: float = Field(
        0.0, description="DFT Ehull(1000 K) at or below which a composition is accessible"
    )


class XRDConfig(_Section):
    """Powder XRD analysis: the verdict's thresholds and the user's reference phases."""

    wavelength_a: float = Field(1.5406, gt=0, description="X-ray wavelength, A (Cu Ka1)")
    impurity_threshold: float = Field(0.02, ge=0, le=1)
    reference_dir: Path | None = Field(
        None, description="folder of extra reference CIFs (one named like a built-in replaces it)"
    )
    detection_sigma: float = Field(
        5.0, gt=0, description="significance each of NASICON's strongest lines must reach"
    )
    max_rwp: float = Field(25.0, gt=0, description="R_wp (%) above which the fit is inconclusive")
    residual_sigma: float = Field(
        10.0, gt=0, description="significance of a difference-curve peak that is unexplained"
    )
    residual_fraction: float = Field(
        0.05, ge=0, le=1, description="height of it relative to the strongest NASICON peak"
    )


class QueueConfig(_Section):
    """Proposal queue."""

    claim_hours: float = Field(72.0, gt=0, description="a claim expires after this, h")


class ModelConfig(_Section):
    """Retraining."""

    folds: int = Field(10, ge=2)
    trials: int = Field(20, ge=0)
    timeout_s: float | None = Field(None, gt=0)
    seed: int = 0
    artifacts_dir: Path = Path("nasicon_data/models")
    compare: list[str] | None = Field(None, description="models compared each round (None: all)")
    tune: list[str] | None = Field(None, description="models tuned (None: the zoo's choice)")


class ScheduleConfig(_Section):
    """Prefect deployments."""

    round_cron: str = Field("0 2 * * *", description="closed-loop round, cron (local time)")
    timezone: str | None = Field(None, description="IANA zone of the cron; None = this machine's")
    min_new_labels: int = Field(8, ge=1, description="labels that trigger a round on ingest")


class ProposalConfig(_Section):
    """What each closed-loop round proposes."""

    space: str = Field("nzsp-sodium-rich", description="built-in design space name or TOML path")
    batch: int = Field(8, ge=1, description="compositions queued per round")
    strategy: str = Field("exploit", description="exploit, uncertainty, ucb or random")
    stage2_fraction: float = Field(0.05, gt=0, le=1)
    # -- the recommender (loop.recommend), shared by propose, round and simulate --
    signal: str = Field(
        "labels", description="what the surrogate learns from: labels, ehull or phase_fraction"
    )
    surrogate: str | None = Field(None, description="surrogate name (None: the signal's default)")
    features: str = Field("engine+elements+tf", description="surrogate inputs")
    min_distance: float = Field(
        0.2, ge=0, description="smallest distance between two picks of a batch, atoms per "
        "formula unit over Na, M-site amounts (Hf~Zr, Ta~Nb, W~Mo, Ho~Y merged), Si, P, S",
    )
    kappa: float = Field(1.0, ge=0, description="ucb: weight of the committee spread")
    objective: str = Field(
        "synthesis", description="synthesis (P(forms)), conductivity or both"
    )
    tie_tolerance: float = Field(0.0, ge=0, description="score gap counted as a tie")
    conductivity_model: str = Field(
        "gp",
        description="log10 sigma of the conductivity objectives: gp (a Gaussian process "
        "on the registry's 25 C records) or trained (nasicon conductivity train's model)",
    )


class WebConfig(_Section):
    """The web page (``nasicon web``): where it listens, sessions, failed-login limits."""

    host: str = Field("127.0.0.1", description="address to listen on")
    port: int = Field(8000, ge=1, le=65535)
    session_hours: float = Field(12.0, gt=0, description="a browser login lasts this long, h")
    secure_cookies: bool = Field(
        True, description="session cookie only over HTTPS (false: plain-http localhost only)"
    )
    max_failed_logins_per_user: int = Field(
        5, ge=1, description="failed logins of one name in the window before it is locked"
    )
    max_failed_logins_per_client: int = Field(
        20, ge=1, description="failed logins from one address in the window before it is locked"
    )
    failed_login_window_minutes: float = Field(15.0, gt=0)
    upload_dir: Path = Field(
        Path("nasicon_data/uploads"), description="uploaded raw files awaiting confirmation"
    )
    max_upload_mb: float = Field(50.0, gt=0, description="largest raw file accepted, MB")


# -- issue 17 (reliability-fixes): input limits ------------------------------------------
class LimitsConfig(_Section):
    """Largest inputs accepted (README "Limits and validation"); bigger ones are refused
    with one line naming the setting. Raw files from this size on are read with a progress
    bar (``progress_min_bytes``)."""

    max_batch_bytes: int = Field(
        64 * 1024 * 1024, gt=0, description="largest batch CSV accepted, bytes"
    )
    max_batch_rows: int = Field(100_000, gt=0, description="most data rows in one batch CSV")
    max_xrd_points: int = Field(3_000_000, gt=0, description="most points of an XRD pattern")
    max_xrd_bytes: int = Field(
        128 * 1024 * 1024, gt=0, description="largest XRD pattern file accepted, bytes"
    )
    max_eis_points: int = Field(
        100_000, gt=0, description="most points (data rows) of an impedance spectrum"
    )
    max_eis_bytes: int = Field(
        32 * 1024 * 1024, gt=0, description="largest impedance file accepted, bytes"
    )
    progress_min_bytes: int = Field(
        1024 * 1024, ge=0, description="raw files from this size on are read with a progress bar"
    )


# -- end issue 17 -------------------------------------------------------------------------


class NasiconConfig(_Section):
    """All settings of one installation."""

    database: DatabaseConfig = DatabaseConfig()
    data: DataConfig = DataConfig()
    labels: LabelConfig = LabelConfig()
    xrd: XRDConfig = XRDConfig()
    queue: QueueConfig = QueueConfig()
    models: ModelConfig = ModelConfig()
    schedule: ScheduleConfig = ScheduleConfig()
    proposals: ProposalConfig = ProposalConfig()
    web: WebConfig = WebConfig()
    limits: LimitsConfig = LimitsConfig()
