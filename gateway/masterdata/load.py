"""Load and check seller master data: one TOML file per seller in ``config/sellers/``.

Checked at start-up like buyer profiles (:mod:`gateway.profiles.load`): every problem of the folder
is reported at once, each naming the file and the dotted key (unknown keys with a "did you
mean"), and clashes between files (one id claimed by two sellers, one name twice). A folder
that does not exist means "no master data" when it is the default one; a folder named
explicitly must exist.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import ValidationError

from gateway.errors import ConfigError
from gateway.masterdata.sellers import SellerMasterData, SellerSet
from gateway.profiles.load import describe_errors

NO_SELLERS = SellerSet()


def load_sellers(folder: str | Path, *, required: bool = True) -> SellerSet:
    """Every ``*.toml`` in ``folder`` as a checked :class:`SellerSet`.

    A missing folder is a :class:`ConfigError` when ``required``, else the empty set (no
    master data). Raises :class:`ConfigError` listing every problem of the folder.
    """
    folder = Path(folder)
    if not folder.is_dir():
        if required:
            raise ConfigError(f"{folder}: seller master data folder does not exist")
        return NO_SELLERS
    problems: list[str] = []
    loaded: list[tuple[Path, SellerMasterData]] = []
    for path in sorted(folder.glob("*.toml")):
        seller = _load_file(path, problems)
        if seller is not None:
            loaded.append((path, seller))
    result = _index(loaded, problems)
    if problems:
        raise ConfigError(
            f"{len(problems)} problem(s) in seller master data ({folder}):\n" + "\n".join(problems)
        )
    return result


def _load_file(path: Path, problems: list[str]) -> SellerMasterData | None:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        problems.append(f"{path}: not valid TOML: {exc}")
        return None
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(f"{path}: cannot read: {exc}")
        return None
    data.setdefault("name", path.stem)
    try:
        seller = SellerMasterData.model_validate(data)
    except ValidationError as exc:
        problems.extend(describe_errors(path, exc, SellerMasterData))
        return None
    if not seller.ids.claims():
        problems.append(
            f"{path}: ids: the file names no seller; give [ids] with vat_ids, glns, identifiers, "
            "legal_registrations or peppol_ids (the ids the seller's invoices carry)"
        )
        return None
    return seller


def _index(loaded: list[tuple[Path, SellerMasterData]], problems: list[str]) -> SellerSet:
    sources: dict[str, Path] = {}
    by_id: dict[tuple[str, str], SellerMasterData] = {}
    for path, seller in loaded:
        if seller.name in sources:
            problems.append(
                f"{path}: name = {seller.name!r}: already used by {sources[seller.name]}"
            )
            continue
        sources[seller.name] = path
        for kind, value in seller.ids.claims():
            other = by_id.get((kind, value))
            if other is not None and other.name != seller.name:
                problems.append(
                    f"{path}: ids.{kind}s: {value!r} is already claimed by {sources[other.name]}; "
                    "an id may lead to one seller file only"
                )
                continue
            by_id[(kind, value)] = seller
    return SellerSet(tuple(s for _, s in loaded), sources, by_id)
