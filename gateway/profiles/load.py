"""Load and validate buyer profiles: one TOML file per buyer in ``config/buyers/``.

Everything is checked at start-up, and every problem found in the folder is reported at once:
unknown keys (with the dotted key and a "did you mean"), wrong values, unknown format and
connector names, connector options the connector does not take, literal secrets, a profile that
matches nothing, and clashes between files (two profiles claiming one buyer id, two defaults,
two groups with the same criteria, two profiles with one name), and ``[defaults]`` that name
one buyer (BT-49, BT-10, buyer ids) on a group or default profile.
"""

from __future__ import annotations

import difflib
import inspect
import tomllib
import types
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from gateway import registry, secrets
from gateway.errors import ConfigError
from gateway.profiles.profile import BuyerProfile, ChannelSpec, Consolidation

NOT_CONNECTOR_OPTIONS = {"self", "clock"}
BATCHING_SYNTAXES = frozenset({"edifact"})
"""Syntaxes whose interchange carries several invoices (mappings.edifact.render_interchange)."""


@dataclass(frozen=True)
class ProfileSet:
    """The loaded profiles, indexed for routing.

    ``by_id`` maps (id kind, normalised id) to the profile claiming it; ``groups`` lists group
    profiles; ``default`` is the profile with ``default = true`` (if any); ``sources`` names the
    file each profile came from; ``folder`` is the folder (or the one file) they were loaded
    from, for messages that tell where a profile would go.
    """

    profiles: tuple[BuyerProfile, ...]
    sources: Mapping[str, Path] = field(default_factory=dict)
    by_id: Mapping[tuple[str, str], BuyerProfile] = field(default_factory=dict)
    groups: tuple[BuyerProfile, ...] = ()
    default: BuyerProfile | None = None
    folder: Path | None = None

    def where(self) -> str:
        """Where a new profile would go, for messages: ``a file of FOLDER/`` (or the file)."""
        if self.folder is None:
            return "a buyer profile"
        if self.folder.suffix == ".toml":
            return str(self.folder)
        return f"a file of {self.folder}/"

    def __getitem__(self, name: str) -> BuyerProfile:
        for profile in self.profiles:
            if profile.name == name:
                return profile
        close = difflib.get_close_matches(name, [p.name for p in self.profiles], n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise KeyError(f"no buyer profile {name!r}{hint}")

    def __iter__(self) -> Iterator[BuyerProfile]:
        return iter(self.profiles)

    def __len__(self) -> int:
        return len(self.profiles)


def load_profiles(folder: str | Path) -> ProfileSet:
    """Every ``*.toml`` in ``folder`` as a validated :class:`ProfileSet`.

    Raises :class:`ConfigError` listing every problem, each naming the file, the dotted key and,
    where one is close, a suggestion. The profile name defaults to the file name without ``.toml``.
    """
    if not str(folder):
        raise ConfigError("buyer profile folder '': empty; accepted: a folder of *.toml files")
    folder = Path(folder)
    if folder.is_file():
        raise ConfigError(
            f"{folder}: is a file, not a buyer profile folder; accepted: a folder of *.toml "
            "files (one profile file: igw translate --profile FILE)"
        )
    if not folder.is_dir():
        raise ConfigError(f"{folder}: buyer profile folder does not exist")
    files = sorted(folder.glob("*.toml"))
    if not files:
        raise ConfigError(
            f"{folder}: no buyer profiles in this folder; accepted: a folder of *.toml files, "
            "one per buyer"
        )
    problems: list[str] = []
    loaded: list[tuple[Path, BuyerProfile]] = []
    for path in files:
        profile = _load_file(path, problems)
        if profile is not None:
            loaded.append((path, profile))
    result = _index(loaded, problems)
    if problems:
        raise ConfigError(
            f"{len(problems)} problem(s) in buyer profiles ({folder}):\n" + "\n".join(problems)
        )
    return replace(result, folder=folder)


def load_profile(path: str | Path) -> BuyerProfile:
    """One profile file, validated alone (no cross-file checks)."""
    problems: list[str] = []
    profile = _load_file(Path(path), problems)
    if profile is None or problems:
        raise ConfigError("\n".join(problems))
    return profile


def load_profile_set(path: str | Path) -> ProfileSet:
    """One profile file as a :class:`ProfileSet` (routing to it works as to a folder of one)."""
    problems: list[str] = []
    profile = _load_file(Path(path), problems)
    if profile is None or problems:
        raise ConfigError("\n".join(problems))
    return replace(_index([(Path(path), profile)], []), folder=Path(path))


def _load_file(path: Path, problems: list[str]) -> BuyerProfile | None:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        problems.append(f"{path}: not valid TOML: {exc}")
        return None
    except OSError as exc:
        problems.append(f"{path}: cannot read: {exc.strerror or exc}")
        return None
    except UnicodeDecodeError as exc:
        problems.append(f"{path}: cannot read: {exc}")
        return None
    data.setdefault("name", path.stem)
    before = len(problems)
    # Checked on the raw table so that one run reports every problem of the file, even when
    # the model itself does not validate.
    _check_literal_secrets(path, data, problems)
    _check_plugins(path, data, problems)
    try:
        profile = BuyerProfile.model_validate(data)
    except ValidationError as exc:
        problems.extend(describe_errors(path, exc))
        return None
    _check_profile(path, profile, problems)
    return profile if len(problems) == before else None


def _raw_channels(data: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(dotted place, table) of the channel and each fallback, as written."""
    channels: list[tuple[str, object]] = [("channel", data.get("channel"))]
    fallback = data.get("fallback")
    if isinstance(fallback, list):
        channels.extend((f"fallback[{i}]", c) for i, c in enumerate(fallback))
    return [(where, table) for where, table in channels if isinstance(table, dict)]


def _check_literal_secrets(path: Path, data: dict[str, Any], problems: list[str]) -> None:
    places: list[tuple[str, object]] = []
    options = data.get("options")
    if isinstance(options, dict):
        places.extend((f"options.{k}", v) for k, v in options.items())
    for prefix, channel in _raw_channels(data):
        if isinstance(channel.get("options"), dict):
            places.extend((f"{prefix}.options.{k}", v) for k, v in channel["options"].items())
    for dotted, value in places:
        try:
            secrets.check_reference(dotted.rsplit(".", 1)[-1], value)
        except ConfigError as exc:
            problems.append(f"{path}: {dotted}: {str(exc).split(': ', 1)[1]}")


def _check_plugins(path: Path, data: dict[str, Any], problems: list[str]) -> None:
    """Format and connector names exist; connector options are the ones the connector takes."""
    name = data.get("format", BuyerProfile.model_fields["format"].default)
    if isinstance(name, str):
        try:
            mapping = registry.resolve_mapping(name)
        except ConfigError as exc:
            problems.append(f"{path}: format = {name!r}: {exc}")
        else:
            _check_consolidation(path, name, mapping, data.get("consolidation"), problems)
            check_options = getattr(mapping, "check_options", None)
            options = data.get("options", {})
            if callable(check_options) and isinstance(options, dict):
                problems.extend(f"{path}: {text}" for text in check_options(options))
    for where, channel in _raw_channels(data):
        connector, options = channel.get("connector"), channel.get("options", {})
        if isinstance(connector, str) and isinstance(options, dict):
            _check_channel(path, where, connector, options, problems)


def _check_consolidation(
    path: Path, name: str, mapping: Any, consolidation: object, problems: list[str]
) -> None:
    """Batching needs a format that carries several invoices in one document: an interchange
    syntax whose mapping has ``render_interchange``."""
    from gateway.delivery.consolidation import interchange_renderer  # imports the store: only here

    syntax = getattr(mapping, "syntax", "")
    batching = set(get_args(Consolidation)) - {"per-invoice"}
    if consolidation not in batching:
        return
    if syntax not in BATCHING_SYNTAXES or interchange_renderer(mapping) is None:
        problems.append(
            f"{path}: consolidation = {consolidation!r}: format {name!r} "
            f"({syntax}) carries one invoice per document; accepted: 'per-invoice' "
            f"(batching needs an interchange syntax: {', '.join(sorted(BATCHING_SYNTAXES))})"
        )


def _check_profile(path: Path, profile: BuyerProfile, problems: list[str]) -> None:
    if profile.channel is None:
        problems.append(
            f'{path}: channel: missing; add e.g. [channel] connector = "file" '
            f'with [channel.options] directory = "outbox/{profile.name}"'
        )
    identity = profile.defaults.identity_keys()
    if identity and (profile.group is not None or profile.default or not profile.ids.claims()):
        problems.append(
            f"{path}: {', '.join(identity)}: names one buyer, but the profile also routes "
            "invoices of other buyers (a [group] or default = true); give these defaults only "
            "in a profile matched by that buyer's [ids]"
        )
    if not profile.ids.claims() and profile.group is None and not profile.default:
        problems.append(
            f"{path}: the profile matches no invoice; give [ids] (vat_ids, glns, peppol_ids, "
            "erp_customer_numbers), a [group], or default = true"
        )


def _check_channel(
    path: Path, where: str, connector: str, options: dict[str, Any], problems: list[str]
) -> None:
    try:
        cls = registry.resolve_connector(connector)
    except ConfigError as exc:
        problems.append(f"{path}: {where}.connector = {connector!r}: {exc}")
        return
    try:
        parameters = inspect.signature(cls).parameters
    except (TypeError, ValueError):
        return
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return
    accepted = [n for n in parameters if n not in NOT_CONNECTOR_OPTIONS]
    for key in options:
        if key not in accepted:
            problems.append(
                f"{path}: {where}.options.{key}: connector {connector!r} has no option "
                f"{key!r}{_hint(key, accepted)} (accepted: {', '.join(accepted) or 'none'})"
            )
    for name, parameter in parameters.items():
        required = parameter.default is inspect.Parameter.empty and parameter.kind not in (
            inspect.Parameter.VAR_POSITIONAL,
            inspect.Parameter.VAR_KEYWORD,
        )
        if required and name not in NOT_CONNECTOR_OPTIONS and name not in options:
            problems.append(
                f"{path}: {where}.options.{name}: missing; connector {connector!r} needs it"
            )


def _index(loaded: Sequence[tuple[Path, BuyerProfile]], problems: list[str]) -> ProfileSet:
    sources: dict[str, Path] = {}
    by_id: dict[tuple[str, str], BuyerProfile] = {}
    groups: dict[tuple[tuple[str, ...], tuple[str, ...]], BuyerProfile] = {}
    default: BuyerProfile | None = None
    for path, profile in loaded:
        if profile.name in sources:
            first = sources[profile.name]
            problems.append(f"{path}: name = {profile.name!r}: already used by {first}")
            continue
        sources[profile.name] = path
        for kind, value in profile.ids.claims():
            other = by_id.get((kind, value))
            if other is not None and other.name != profile.name:
                problems.append(
                    f"{path}: ids.{kind}s: {value!r} is already claimed by profile "
                    f"{other.name!r} ({sources[other.name]}); a buyer id may name one profile only"
                )
            by_id[(kind, value)] = profile
        if profile.group is not None:
            twin = groups.get(profile.group.criteria())
            if twin is not None:
                problems.append(
                    f"{path}: group: same criteria as profile {twin.name!r} "
                    f"({sources[twin.name]}); routing could not choose between them"
                )
            groups[profile.group.criteria()] = profile
        if profile.default:
            if default is not None:
                problems.append(
                    f"{path}: default = true: profile {default.name!r} ({sources[default.name]}) "
                    "is already the default; only one profile may be"
                )
            else:
                default = profile
    return ProfileSet(
        profiles=tuple(p for _, p in loaded),
        sources=sources,
        by_id=by_id,
        groups=tuple(groups.values()),
        default=default,
    )


def _hint(key: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(key, list(known), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def _dotted(loc: Sequence[int | str]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def describe_errors(
    path: Path, exc: ValidationError, model: type[BaseModel] = BuyerProfile
) -> list[str]:
    """Pydantic errors in the file's own words: file, dotted key, value, what is accepted
    (an unknown key with a "did you mean" among the keys ``model`` takes there)."""
    lines = []
    for error in exc.errors():
        loc = error["loc"]
        dotted = _dotted(loc)
        if error["type"] == "extra_forbidden":
            known = _known_keys(model, loc[:-1])
            key = str(loc[-1])
            lines.append(
                f"{path}: unknown key {dotted!r}{_hint(key, known)} "
                f"(known here: {', '.join(known)})"
            )
            continue
        last = str(loc[-1]) if loc else ""
        shown = "(hidden)" if secrets.is_secret_key(last) else repr(error.get("input"))
        message = str(error["msg"]).removeprefix("Value error, ")
        if str(error["type"]).startswith("time_delta"):
            message += '; accepted: "30s", "15m", "2h", "5d", seconds, or ISO 8601 ("PT2H")'
        lines.append(f"{path}: {dotted} = {shown}: {message}")
    return lines


def _unwrap(tp: Any) -> Any:
    while True:
        origin = get_origin(tp)
        if origin in (Union, types.UnionType):
            inner = [a for a in get_args(tp) if a is not type(None)]
            if len(inner) != 1:
                return tp
            tp = inner[0]
        elif origin is not None and getattr(tp, "__metadata__", None) is not None:
            tp = get_args(tp)[0]
        else:
            return tp


def _known_keys(model: type[BaseModel], loc: Sequence[int | str]) -> list[str]:
    """The keys accepted at ``loc`` inside ``model`` (for "did you mean")."""
    tp: Any = model
    for part in loc:
        tp = _unwrap(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            info = tp.model_fields.get(str(part))
            if info is None:
                return []
            tp = info.annotation
            continue
        origin, args = get_origin(tp), get_args(tp)
        if origin in (tuple, list) and args:
            tp = args[0]
        elif origin is dict and len(args) == 2:
            tp = args[1]
        else:
            return []
    tp = _unwrap(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return list(tp.model_fields)
    return []


def build_connector(spec: ChannelSpec, **extra: Any) -> Any:
    """A connector instance for ``spec``: class from the registry, secret references resolved.

    ``extra`` (e.g. ``clock=``) is passed through. Raises :class:`ConfigError` for an unknown
    connector or an unresolvable secret reference.
    """
    cls = registry.resolve_connector(spec.connector)
    options: dict[str, Any] = {
        key: secrets.resolve(value)
        if secrets.is_secret_key(key) and isinstance(value, str)
        else value
        for key, value in spec.options.items()
    }
    return cls(**options, **extra)


def resolve_options(profile: BuyerProfile) -> BuyerProfile:
    """A copy of ``profile`` whose secret mapping options (cXML ``shared_secret``) are resolved
    from their references; call it just before rendering, never store the result."""
    resolved = {
        key: secrets.resolve(value) if secrets.is_secret_key(key) else value
        for key, value in profile.options.items()
    }
    return profile.model_copy(update={"options": resolved})
