"""Validation campaign configuration: from YAML or keyword arguments, checked before any work.

A campaign is one family on one dataset: every model (classical champions and hybrid
challengers) is run through the same walk-forward, scored the same way and written into one
report. Bad configurations stop at once with a :class:`~hybridrisk.errors.ConfigError` that
names the key and lists what is allowed.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from hybridrisk.errors import ConfigError

__all__ = ["CampaignConfig", "SensitivityConfig", "SignOffConfig", "load_config"]


@dataclass(frozen=True)
class SensitivityConfig:
    """Stability checks beyond the main walk-forward.

    ``seeds``: extra seeds for each hybrid that is not a seed ensemble (spread of its scores; an
    ensemble shows its members' spread instead); ``window_size``: a rolling
    window of this length as a second training scheme (None: skip); ``crisis``: score the crisis
    sub-periods found inside the out-of-sample span.
    """

    seeds: tuple[int, ...] = (1, 2)
    window_size: int | None = 1500
    crisis: bool = True


#: What an identification field says when the config leaves it out.
NOT_STATED = "not stated"


@dataclass(frozen=True)
class SignOffConfig:
    """Model identification and sign-off, printed at the head of the report.

    Every field is free text, ``"not stated"`` unless the config gives it; ``status`` defaults
    to a draft awaiting the validator's decision, since a generated report is never approved
    by itself.
    """

    model_id: str = NOT_STATED
    model_name: str = NOT_STATED
    owner: str = NOT_STATED
    developer: str = NOT_STATED
    validator: str = NOT_STATED
    date: str = NOT_STATED
    status: str = "draft: awaiting validation sign-off"

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is None:
                value = f.default
            elif hasattr(value, "isoformat"):  # YAML reads 2025-01-31 as a date
                value = value.isoformat()
            elif isinstance(value, bool) or not isinstance(value, str | int | float):
                raise ConfigError(f"signoff.{f.name} must be text, got {value!r}")
            object.__setattr__(self, f.name, str(value))

    def rows(self) -> dict[str, str]:
        """The fields with their display labels, in report order."""
        return {"Model ID": self.model_id, "Model name": self.model_name, "Owner": self.owner,
                "Developer": self.developer, "Validator": self.validator,
                "Date": self.date, "Status": self.status}


@dataclass(frozen=True)
class CampaignConfig:
    """One validation campaign.

    Parameters
    ----------
    family
        Model family, e.g. ``"volatility"``.
    dataset
        A bundled dataset name known to the family (e.g. ``"sp500"``), or ``None`` for the
        user's own data: a file (``data``) or a frame passed to
        :func:`~validation.harness.run_campaign` (``data=``) or
        :func:`~validation.harness.champion_challenger`.
    data
        The user's data file (CSV or Parquet, :mod:`validation.userdata`); needs
        ``dataset=None`` (set for you when a mapping or the command line gives ``data``
        without ``dataset``). In a YAML config a relative path is relative to the YAML file.
    column
        The column(s) to use, from the file or from a frame passed in memory (the volatility
        family takes one: the series of returns or prices).
    units
        What the values are, among the family's units (volatility: ``"percent"``, the
        default, ``"decimal"`` or ``"price"``).
    date_column
        The column holding the dates; default the file's index (a CSV's first column).
    out
        Output folder: report (HTML, PDF), tables (CSV, Parquet), walk-forward runs.
    oos
        Number of out-of-sample observations (the last ``oos`` of the dataset).
    refit
        ``"daily"``, ``"weekly"``, ``"monthly"`` or an integer N.
    window, window_size
        ``"expanding"`` or ``"rolling"`` (then ``window_size`` observations) training windows.
    executor, scheduler, n_workers
        ``"local"`` process pool (default), ``"serial"`` or ``"dask"``; ``scheduler`` is a Dask
        scheduler address (implies ``executor="dask"``).
    seed
        Run seed: fixes every random draw of the campaign.
    models
        Model name -> options; empty means the family's defaults (all champions and the
        hybrid). ``{kind: python, target: "package.module:Factory", role: challenger, ...}``
        is the user's own model (:mod:`validation.plugins`); plug-ins alone run next to the
        family's defaults.
    sensitivity
        See :class:`SensitivityConfig`.
    quick
        Fewer epochs and windows, for smoke tests; the report says so on its title page.
    signoff
        Model identification and sign-off (model id and name, owner, developer, validator,
        date, status); see :class:`SignOffConfig`. A YAML config gives it as a mapping.
    """

    family: str = "volatility"
    dataset: str | None = "sp500"
    data: str | None = None
    column: str | tuple[str, ...] | None = None
    units: str | None = None
    date_column: str | None = None
    out: str = "reports/sp500"
    oos: int = 1000
    refit: str | int = "monthly"
    window: str = "expanding"
    window_size: int | None = None
    executor: str = "local"
    scheduler: str | None = None
    n_workers: int | None = None
    seed: int = 0
    models: dict[str, dict[str, Any]] = field(default_factory=dict)
    sensitivity: SensitivityConfig = field(default_factory=SensitivityConfig)
    quick: bool = False
    signoff: SignOffConfig = field(default_factory=SignOffConfig)

    def __post_init__(self) -> None:
        from validation.families import FAMILIES

        if self.family not in FAMILIES:
            raise ConfigError(f"unknown family {self.family!r}; known: {sorted(FAMILIES)}")
        known = FAMILIES[self.family].datasets
        if self.dataset == "sp500" and "sp500" not in known and known:
            # the default dataset is the volatility family's: other families start at their first
            object.__setattr__(self, "dataset", next(iter(known)))
        if self.dataset is not None and self.dataset not in known:
            raise ConfigError(
                f"unknown dataset {self.dataset!r} for family {self.family!r}; "
                f"known: {sorted(known)}, or None for data held in memory"
            )
        self._check_user_data()
        if not isinstance(self.oos, int) or isinstance(self.oos, bool) or self.oos < 20:
            raise ConfigError(f"oos must be an integer of at least 20, got {self.oos!r}")
        if self.refit not in ("daily", "weekly", "monthly") and not (
            isinstance(self.refit, int) and not isinstance(self.refit, bool) and self.refit > 0
        ):
            raise ConfigError(
                "refit must be 'daily', 'weekly', 'monthly' or a positive integer, "
                f"got {self.refit!r}"
            )
        if self.window not in ("expanding", "rolling"):
            raise ConfigError(f"window must be 'expanding' or 'rolling', got {self.window!r}")
        if self.window == "rolling" and not self.window_size:
            raise ConfigError("window='rolling' needs window_size (observations)")
        if self.window == "expanding" and self.window_size is not None:
            raise ConfigError("window_size is only used with window='rolling'")
        for key in ("window_size", "n_workers"):
            value = getattr(self, key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                      or value < 1):
                raise ConfigError(f"{key} must be a positive integer or None, got {value!r}")
        if self.scheduler is not None and self.executor != "dask":
            object.__setattr__(self, "executor", "dask")
        if self.executor not in ("local", "serial", "dask"):
            raise ConfigError(
                f"executor must be 'local', 'serial' or 'dask', got {self.executor!r}"
            )
        if not isinstance(self.seed, int) or self.seed < 0:
            raise ConfigError(f"seed must be a non-negative integer, got {self.seed!r}")
        from validation.plugins import PLUGIN_KIND, PluginSpec, is_plugin

        kinds = FAMILIES[self.family].kinds
        if not isinstance(self.models, dict):
            raise ConfigError(f"models must be a mapping of name -> options, got {self.models!r}")
        for name, opts in self.models.items():
            if is_plugin(opts):
                PluginSpec.from_config(name, opts)  # target and role, named on error
            elif not isinstance(opts, dict) or opts.get("kind") not in kinds:
                raise ConfigError(
                    f"model {name!r} needs a 'kind' among {[*kinds, PLUGIN_KIND]} for family "
                    f"{self.family!r}, got {opts!r}"
                )

    def _check_user_data(self) -> None:
        from validation.families import FAMILIES
        from validation.userdata import file_kind

        fam = FAMILIES[self.family]
        if self.data is not None:
            if self.dataset is not None:
                raise ConfigError(
                    f"data={self.data!r} and the bundled dataset {self.dataset!r} are both set: "
                    "set dataset=None to run on the file")
            if not isinstance(self.data, str | Path):
                raise ConfigError(f"data must be a file path, got {self.data!r}")
            object.__setattr__(self, "data", str(self.data))
            file_kind(self.data)
            if not Path(self.data).is_file():
                raise ConfigError(f"data file {self.data!r} does not exist")
        if isinstance(self.column, list | tuple):
            if not self.column or not all(isinstance(c, str) for c in self.column):
                raise ConfigError(f"column must be a name or a list of names, got {self.column!r}")
            object.__setattr__(self, "column", self.column[0] if len(self.column) == 1
                               else tuple(self.column))
        elif self.column is not None and not isinstance(self.column, str):
            raise ConfigError(f"column must be a name or a list of names, got {self.column!r}")
        if self.units is not None and self.units not in fam.units:
            raise ConfigError(
                f"units must be one of {list(fam.units)} for family {self.family!r}, got "
                f"{self.units!r}" if fam.units else
                f"the {self.family} family takes its data as they are: drop units={self.units!r}")
        if self.date_column is not None and not isinstance(self.date_column, str):
            raise ConfigError(f"date_column must be a column name, got {self.date_column!r}")
        if self.dataset is not None and (self.column, self.units, self.date_column) != (
                None, None, None):
            raise ConfigError("column, units and date_column describe the user's own data; the "
                              f"bundled dataset {self.dataset!r} takes none of them")

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> CampaignConfig:
        """Build from a plain mapping (parsed YAML), refusing unknown keys by name."""
        if not isinstance(raw, dict):
            raise ConfigError(f"a campaign config must be a mapping, got {type(raw).__name__}")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(raw) - names)
        if unknown:
            raise ConfigError(f"unknown config key(s) {unknown}; allowed: {sorted(names)}")
        raw = dict(raw)
        if isinstance(raw.get("data"), str):
            # a file replaces the default bundled dataset, and names the default output folder
            raw.setdefault("dataset", None)
            raw.setdefault("out", f"reports/{Path(raw['data']).name.split('.')[0]}")
        sens = _section(raw, "sensitivity", SensitivityConfig)
        if sens is not None:
            if "seeds" in sens:
                sens = {**sens, "seeds": tuple(int(s) for s in sens["seeds"])}
            raw["sensitivity"] = SensitivityConfig(**sens)
        sign = _section(raw, "signoff", SignOffConfig)
        if sign is not None:
            raw["signoff"] = SignOffConfig(**sign)
        try:
            return cls(**raw)
        except TypeError as exc:
            raise ConfigError(str(exc)) from exc

    def to_dict(self) -> dict[str, Any]:
        """A plain mapping (for the report and the run manifest)."""
        return dataclasses.asdict(self)


def _section(raw: dict[str, Any], key: str, cls: type) -> dict[str, Any] | None:
    """Pop the mapping ``raw[key]`` and check its keys against the fields of ``cls``."""
    sec = raw.pop(key, None)
    if sec is None:
        return None
    if not isinstance(sec, dict):
        raise ConfigError(f"{key} must be a mapping")
    names = {f.name for f in dataclasses.fields(cls)}
    bad = sorted(set(sec) - names)
    if bad:
        raise ConfigError(f"unknown {key} key(s) {bad}; allowed: {sorted(names)}")
    return sec


def load_config(path: str | Path, **overrides: Any) -> CampaignConfig:
    """Read a YAML campaign config; keyword ``overrides`` that are not None replace its keys.

    ``models`` in the overrides (``--model``) are added to the config's models; ``data`` there
    (``--data``) replaces the config's bundled ``dataset`` unless ``dataset`` is overridden too.
    """
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"config file {str(p)!r} does not exist")
    try:
        raw = yaml.safe_load(p.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {str(p)!r} is not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"config file {str(p)!r} must hold a mapping of keys")
    if isinstance(raw.get("data"), str) and not Path(raw["data"]).is_absolute():
        raw["data"] = str(p.parent / raw["data"])  # relative to the YAML file, not the cwd
    if overrides.get("data") is not None and overrides.get("dataset") is None:
        raw.pop("dataset", None)  # a file on the command line replaces the config's dataset
    models = overrides.pop("models", None)
    if models:  # added to the config's models (--model), not replacing them
        raw["models"] = {**(raw.get("models") or {}), **models}
    raw.update({k: v for k, v in overrides.items() if v is not None})
    return CampaignConfig.from_dict(raw)
