"""Where everything lives inside a data directory: the one module that knows the layout.

`--data DIR`, else `$CARDTRACE_DATA`, else `./data` (CONTRACTS section 7). The lake may live elsewhere
(an `s3://` URI) when `CARDTRACE_LAKE_URI` names it; the journal, tokens and read models are always local
because durability and locking need a local file system.
"""

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from core.errors import FactoryConfigError
from core.factory import Factory, factory_from_mapping

DEFAULT_DATA_DIR = Path("data")
# The committed default plant; used when a data directory has no factory.toml of its own.
DEFAULT_FACTORY = Path(__file__).resolve().parent.parent / "data" / "factory.toml"


@dataclass(frozen=True, kw_only=True, slots=True)
class DataDir:
    root: Path
    lake_uri_override: str | None = None

    @property
    def lake_uri(self) -> str:
        return self.lake_uri_override or str(self.root / "lake" / "events")

    @property
    def journal_path(self) -> Path:
        return self.root / "journal" / "journal.sqlite3"

    @property
    def read_models_dir(self) -> Path:
        return self.root / "read_models"

    @property
    def tokens_path(self) -> Path:
        return self.root / "auth" / "tokens.json"

    @property
    def simulation_dir(self) -> Path:
        return self.root / "simulation"

    @property
    def factory_path(self) -> Path:
        own = self.root / "factory.toml"
        return own if own.exists() else DEFAULT_FACTORY

    def load_factory(self) -> Factory:
        return load_factory(self.factory_path)


def resolve_data_dir(explicit: str | Path | None = None) -> DataDir:
    root = Path(explicit) if explicit is not None else Path(os.environ.get("CARDTRACE_DATA", DEFAULT_DATA_DIR))
    return DataDir(root=root, lake_uri_override=os.environ.get("CARDTRACE_LAKE_URI") or None)


def load_factory(path: Path) -> Factory:
    """Read and validate a factory.toml; every problem is a FactoryConfigError naming the file."""
    try:
        with path.open("rb") as handle:
            document = tomllib.load(handle)
    except FileNotFoundError:
        raise FactoryConfigError(f"{path}: no such factory configuration") from None
    except tomllib.TOMLDecodeError as error:
        raise FactoryConfigError(f"{path}: not valid TOML: {error}") from None
    try:
        return factory_from_mapping(document)
    except FactoryConfigError as error:
        raise FactoryConfigError(f"{path}: {error.message}") from None
