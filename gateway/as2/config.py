"""Our AS2 identity and partners, from TOML: ``<dir>/local.toml`` + ``<dir>/partners/*.toml``.

``local.toml`` (our side; a relative path is relative to the file's own folder, the key
password is a secret reference, never a literal)::

    as2_id = "IGW-EXAMPLE"
    key_file = "keys/gateway.p12"              # PEM/DER key, or PKCS#12 holding key + certificate
    key_password = "env:IGW_AS2_KEY_PASSWORD"  # optional
    cert_file = "keys/gateway.pem"             # optional when the PKCS#12 brings the certificate
    expiry_warning_days = 30                   # optional
    max_size = "100MB"                         # optional: the AS2 channel's largest document
    tenant = "acme"                            # optional: whose messages it receives (default)

    [[identities]]                             # optional: more AS2 ids this endpoint answers for
    as2_id = "IGW-EXAMPLE-EU"
    key_file = "keys/eu.p12"                   # optional: default the key (and cert) above
    key_password = "env:IGW_AS2_EU_KEY_PASSWORD"
    cert_file = "keys/eu.pem"
    tenant = "acme-eu"                         # optional: default the tenant above

A message is opened with the identity its AS2-To names, and its MDN signed with that identity
and naming that AS2-To as Original-Recipient; it is stored for that identity's tenant, and an
asynchronous MDN addressed to that AS2 id is matched to that tenant's deliveries.

``partners/<name>.toml`` (one file per partner; the partner's name is the file name)::

    as2_id = "ACME-AS2"
    cert_files = ["acme.pem"]    # relative to partners/; [0] encrypts to them, all verify
    require_signed = true
    require_encrypted = true
    buyer = "acme"               # optional: the buyer profile whose deliveries its MDNs answer
    async_mdn_urls = ["https://as2.acme.example/mdn"]  # optional, see below

``max_size`` bounds what ``igw serve`` takes on ``POST /as2``: a larger request body is
answered 413 before it is read, and compressed content may inflate to at most
:func:`connectors.as2.cms.inflate_limit` of it (default
:data:`gateway.limits.CHANNEL_DEFAULTS` ``["as2"]``, 100 MB).

``async_mdn_urls``: the URL prefixes (:mod:`gateway.as2.urls`) an asynchronous MDN to this
partner may be POSTed to; ``[]``: none. Not set: the origins (scheme, host, port) of the buyer
profiles' ``as2`` channel URLs to this partner. A message asking for an async MDN elsewhere,
or whose signature did not verify, is answered with a synchronous MDN.

Every problem of the folder is reported at once (:class:`ConfigError`): unknown keys with a "did
you mean", wrong types, missing or unreadable key and certificate files, a literal password, two
partners with one AS2 id. Certificates that are expired or expire within ``expiry_warning_days``
give warnings (:attr:`As2Config.warnings`, also logged) — they do not stop the start.
"""

from __future__ import annotations

import datetime as dt
import difflib
import logging
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from pydantic import BaseModel, ConfigDict, ValidationError

from connectors.as2 import certs
from connectors.as2.errors import CertificateError
from connectors.as2.message import As2Identity, As2Partner
from gateway import secrets
from gateway.as2.urls import prefix_problem
from gateway.errors import ConfigError
from gateway.limits import CHANNEL_DEFAULTS, ByteSize
from gateway.profiles.profile import BuyerProfile
from gateway.tenants import DEFAULT_TENANT, check_tenant_id

log = logging.getLogger(__name__)

LOCAL_FILE = "local.toml"
PARTNERS_FOLDER = "partners"
_M = TypeVar("_M", bound=BaseModel)


class IdentitySettings(BaseModel):
    """One more of our AS2 ids (``[[identities]]`` in ``local.toml``); key and certificate
    default to the main ones."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    as2_id: str
    key_file: str | None = None
    key_password: str | None = None
    cert_file: str | None = None
    tenant: str | None = None


class LocalSettings(BaseModel):
    """``local.toml`` as written."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    as2_id: str
    key_file: str
    key_password: str | None = None
    cert_file: str | None = None
    expiry_warning_days: int = 30
    identities: list[IdentitySettings] = []
    max_size: ByteSize | None = None
    tenant: str = DEFAULT_TENANT


class PartnerSettings(BaseModel):
    """``partners/<name>.toml`` as written."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    as2_id: str
    cert_files: list[str]
    require_signed: bool = True
    require_encrypted: bool = True
    buyer: str | None = None
    async_mdn_urls: list[str] | None = None


#: the AS2 channel's largest document unless ``local.toml`` says (``max_size``)
DEFAULT_MAX_SIZE = CHANNEL_DEFAULTS["as2"]


@dataclass(frozen=True)
class PartnerConfig:
    """One configured trading partner: its name (file name), the message layer's view of it,
    the buyer profile its MDNs answer (if given) and the URL prefixes its async MDNs may go to
    (``None``: the origins of its as2 channels, :mod:`gateway.as2.urls`)."""

    name: str
    partner: As2Partner
    buyer: str | None = None
    async_mdn_urls: tuple[str, ...] | None = None


@dataclass(frozen=True)
class As2Config:
    """Our identity and partners, checked; ``warnings`` lists certificate expiry sentences."""

    identity: As2Identity
    partners: Mapping[str, PartnerConfig] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    also: tuple[As2Identity, ...] = ()
    """More AS2 ids the endpoint answers for (``[[identities]]``), besides ``identity``."""
    max_size: int = DEFAULT_MAX_SIZE
    """The AS2 channel's largest document (bytes): request body and inflate limit."""
    tenant_ids: Mapping[str, str] = field(default_factory=dict)
    """Per AS2 id of ours: the tenant whose messages it receives (not named: the default)."""

    def tenant_of(self, as2_id: str | None) -> str:
        """The tenant of our AS2 id ``as2_id`` (the default tenant when unknown or None)."""
        return self.tenant_ids.get(as2_id or "", DEFAULT_TENANT)

    @property
    def tenants(self) -> tuple[str, ...]:
        """Every tenant one of our AS2 ids belongs to, the default tenant first."""
        return tuple(dict.fromkeys([DEFAULT_TENANT, *self.tenant_ids.values()]))

    @property
    def identities(self) -> tuple[As2Identity, ...]:
        """Every AS2 id we answer for: the main identity first."""
        return (self.identity, *self.also)

    def identity_for(self, as2_id: str) -> As2Identity | None:
        """Our identity whose AS2 id is ``as2_id`` (exact match), or None."""
        return next((i for i in self.identities if i.as2_id == as2_id), None)

    def partner_config(self, as2_id: str) -> PartnerConfig | None:
        """The partner whose AS2 id is ``as2_id`` (exact match), or None."""
        for config in self.partners.values():
            if config.partner.as2_id == as2_id:
                return config
        return None

    def with_async_mdn_urls(self, name: str, urls: Iterable[str]) -> As2Config:
        """This configuration with partner ``name``'s ``async_mdn_urls`` set to ``urls`` (for
        a URL known only at run time, e.g. a peer on a free loopback port)."""
        partner = self.partners[name]
        partners = {**self.partners, name: replace(partner, async_mdn_urls=tuple(urls))}
        return replace(self, partners=partners)

    def partner_for(self, as2_id: str) -> As2Partner | None:
        """The message layer's partner for ``as2_id`` (``open_message(partner_for=...)``)."""
        config = self.partner_config(as2_id)
        return config.partner if config is not None else None


def load_as2_config(folder: str | Path, *, now: dt.datetime | None = None) -> As2Config:
    """Read and check ``folder/local.toml`` and ``folder/partners/*.toml``.

    Raises :class:`ConfigError` listing every problem (file, key, value, what is accepted).
    ``now`` (default: the current time) is when certificate expiry is judged.
    """
    folder = Path(folder)
    moment = now or dt.datetime.now(dt.UTC)
    problems: list[str] = []
    local_path = folder / LOCAL_FILE
    local = _read(local_path, LocalSettings, problems)
    identity = _identity(local_path, local, problems) if local is not None else None
    also = _more_identities(local_path, local, identity, problems) if local is not None else []
    ours = {i.as2_id for i in (identity, *also) if i is not None}
    partners: dict[str, PartnerConfig] = {}
    claimed: dict[str, str] = {}
    partner_folder = folder / PARTNERS_FOLDER
    for path in sorted(partner_folder.glob("*.toml")) if partner_folder.is_dir() else []:
        settings = _read(path, PartnerSettings, problems)
        if settings is None:
            continue
        built = _partner(path, settings, problems)
        if built is None:
            continue
        if settings.as2_id in claimed:
            problems.append(
                f"{path}: as2_id = {settings.as2_id!r}: already the AS2 id of partner "
                f"{claimed[settings.as2_id]!r}; an AS2 id may name one partner only"
            )
            continue
        if local is not None and settings.as2_id in ours | {local.as2_id}:
            problems.append(
                f"{path}: as2_id = {settings.as2_id!r}: that is our own AS2 id ({local_path})"
            )
            continue
        claimed[settings.as2_id] = path.stem
        partners[path.stem] = built
    tenant_ids = _tenant_ids(local_path, local, problems)
    if problems or identity is None:
        raise ConfigError(
            f"{len(problems)} problem(s) in the AS2 configuration ({folder}):\n"
            + "\n".join(problems)
        )
    within = local.expiry_warning_days if local is not None else 30
    warnings = certs.expiry_warnings([identity.cert], moment, within)
    for extra in also:
        found = certs.expiry_warnings([extra.cert], moment, within)
        warnings.extend(f"identity {extra.as2_id!r}: {text}" for text in found)
    for config in partners.values():
        found = certs.expiry_warnings(config.partner.certs, moment, within)
        warnings.extend(f"partner {config.name!r}: {text}" for text in found)
    for text in warnings:
        log.warning("AS2 configuration (%s): %s", folder, text)
    max_size = local.max_size if local is not None and local.max_size else DEFAULT_MAX_SIZE
    return As2Config(identity, partners, tuple(warnings), tuple(also), max_size, tenant_ids)


def _tenant_ids(path: Path, local: LocalSettings | None, problems: list[str]) -> dict[str, str]:
    """Our AS2 ids -> their tenants (``tenant`` in local.toml; an identity without one has
    the main identity's)."""
    if local is None:
        return {}
    found = {local.as2_id: local.tenant}
    found.update({extra.as2_id: extra.tenant or local.tenant for extra in local.identities})
    for as2_id, tenant in found.items():
        try:
            check_tenant_id(tenant)
        except ConfigError as exc:
            problems.append(f"{path}: tenant of {as2_id!r}: {exc}")
    return {k: v for k, v in found.items() if v != DEFAULT_TENANT}


def _read(path: Path, model: type[_M], problems: list[str]) -> _M | None:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        problems.append(f"{path}: missing")
        return None
    except tomllib.TOMLDecodeError as exc:
        problems.append(f"{path}: not valid TOML: {exc}")
        return None
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(f"{path}: cannot read: {exc}")
        return None
    before = len(problems)
    for key, value in data.items():
        if secrets.is_secret_key(key):
            try:
                secrets.check_reference(key, value)
            except ConfigError as exc:
                problems.append(f"{path}: {exc}")
    try:
        settings = model.model_validate(data)
    except ValidationError as exc:
        problems.extend(_describe(path, model, exc))
        return None
    return settings if len(problems) == before else None


def _describe(path: Path, model: type[BaseModel], exc: ValidationError) -> list[str]:
    known = list(model.model_fields)
    lines = []
    for error in exc.errors():
        key = ".".join(str(part) for part in error["loc"])
        if error["type"] == "extra_forbidden":
            close = difflib.get_close_matches(str(error["loc"][0]), known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            lines.append(f"{path}: unknown key {key!r}{hint} (known: {', '.join(known)})")
        elif error["type"] == "missing":
            lines.append(f"{path}: {key}: missing")
        else:
            shown = "(hidden)" if secrets.is_secret_key(key) else repr(error.get("input"))
            lines.append(f"{path}: {key} = {shown}: {error['msg']}")
    return lines


def _file(base: Path, where: str, name: str, problems: list[str]) -> bytes | None:
    path = Path(name) if Path(name).is_absolute() else base.parent / name
    try:
        return path.read_bytes()
    except OSError as exc:
        problems.append(f"{base}: {where} = {name!r}: cannot read {path}: {exc.strerror or exc}")
        return None


def _more_identities(
    path: Path, local: LocalSettings, main: As2Identity | None, problems: list[str]
) -> list[As2Identity]:
    """The ``[[identities]]`` of ``local.toml``: each with its own key, or the main one."""
    found: list[As2Identity] = []
    seen = {local.as2_id}
    for number, extra in enumerate(local.identities, 1):
        where = f"identities[{number}] (as2_id = {extra.as2_id!r})"
        if extra.as2_id in seen:
            problems.append(f"{path}: {where}: that AS2 id is already one of ours")
            continue
        seen.add(extra.as2_id)
        if extra.key_password is not None:
            try:
                secrets.check_reference("key_password", extra.key_password)
            except ConfigError as exc:
                problems.append(f"{path}: {where}: {exc}")
                continue
        if extra.key_file is None:
            if extra.cert_file is not None or extra.key_password is not None:
                problems.append(f"{path}: {where}: cert_file/key_password need a key_file")
            elif main is not None:
                found.append(As2Identity(extra.as2_id, main.key, main.cert))
            continue
        settings = LocalSettings(
            as2_id=extra.as2_id,
            key_file=extra.key_file,
            key_password=extra.key_password,
            cert_file=extra.cert_file,
        )
        before = len(problems)
        built = _identity(path, settings, problems)
        problems[before:] = [f"{where}: {text}" for text in problems[before:]]
        if built is not None:
            found.append(built)
    return found


def _identity(path: Path, local: LocalSettings, problems: list[str]) -> As2Identity | None:
    data = _file(path, "key_file", local.key_file, problems)
    if data is None:
        return None
    try:
        password = secrets.resolve(local.key_password) if local.key_password else None
    except ConfigError as exc:
        problems.append(f"{path}: key_password: {exc}")
        return None
    try:
        key, bundled = certs.load_private_key(data, password.encode() if password else None)
    except CertificateError as exc:
        problems.append(f"{path}: key_file = {local.key_file!r}: {exc}")
        return None
    chain = bundled
    if local.cert_file is not None:
        cert_data = _file(path, "cert_file", local.cert_file, problems)
        if cert_data is None:
            return None
        try:
            chain = certs.load_certificates(cert_data)
        except CertificateError as exc:
            problems.append(f"{path}: cert_file = {local.cert_file!r}: {exc}")
            return None
    if not chain:
        problems.append(
            f"{path}: cert_file: missing; the key file brings no certificate, so name our "
            "certificate (PEM/DER) in cert_file"
        )
        return None
    if _public(chain[0].public_key()) != _public(key.public_key()):
        problems.append(
            f"{path}: cert_file: the certificate ({chain[0].subject.rfc4514_string()}) is not "
            "the one of the private key in key_file"
        )
        return None
    return As2Identity(as2_id=local.as2_id, key=key, cert=chain[0])


def _public(key: Any) -> bytes:
    return bytes(key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo))


def _partner(path: Path, settings: PartnerSettings, problems: list[str]) -> PartnerConfig | None:
    if not settings.cert_files:
        problems.append(f"{path}: cert_files: empty; name at least the partner's certificate")
        return None
    urls = settings.async_mdn_urls
    bad = [text for text in map(prefix_problem, urls or []) if text is not None]
    if bad:
        problems.extend(f"{path}: async_mdn_urls: {text}" for text in bad)
        return None
    found: list[Any] = []
    for name in settings.cert_files:
        data = _file(path, "cert_files", name, problems)
        if data is None:
            return None
        try:
            found.extend(certs.load_certificates(data))
        except CertificateError as exc:
            problems.append(f"{path}: cert_files: {name!r}: {exc}")
            return None
    partner = As2Partner(
        as2_id=settings.as2_id,
        certs=tuple(found),
        require_signed=settings.require_signed,
        require_encrypted=settings.require_encrypted,
    )
    return PartnerConfig(path.stem, partner, settings.buyer, None if urls is None else tuple(urls))


AS2_CONNECTORS = frozenset({"as2", "connectors.as2.connector:As2Connector"})


def channel_problems(
    config: As2Config, profiles: Iterable[BuyerProfile], *, folder: str | Path = "the AS2 folder"
) -> list[str]:
    """What the serving AS2 configuration ``config`` does not know of the ``as2`` channels of
    ``profiles`` (channel and fallbacks): a partner (``as2_to``) with no ``partners/*.toml``, an
    ``as2_from`` that is none of our AS2 ids, a ``partner_cert_file`` that is not among the
    partner's configured certificates. Each sentence names profile, channel, option and value.

    Such a channel still sends, but ``igw serve`` refuses the partner's asynchronous MDN (403,
    the delivery stays SENT) or cannot verify it.
    """
    problems: list[str] = []
    ours = [identity.as2_id for identity in config.identities]
    for profile in profiles:
        for number, channel in enumerate(profile.channels()):
            if channel.connector not in AS2_CONNECTORS:
                continue
            first = profile.channel is not None
            label = "channel" if first and number == 0 else f"fallback {number + (not first)}"
            where = f"buyer profile {profile.name!r}, {label} as2"
            options = channel.options
            mdn = str(options.get("mdn", "sync"))
            consequence = (
                "its asynchronous MDNs would be refused (HTTP 403) and the deliveries stay SENT"
                if mdn == "async"
                else "an asynchronous MDN from it would be refused (HTTP 403)"
            )
            partner_id = str(options.get("as2_to", ""))
            partner = config.partner_config(partner_id) if partner_id else None
            if partner_id and partner is None:
                known = ", ".join(repr(p.partner.as2_id) for p in config.partners.values())
                problems.append(
                    f"{where}: as2_to = {partner_id!r}: no partner with that AS2 id in {folder} "
                    f"(known: {known or 'none'}); {consequence}: add partners/<name>.toml "
                    f'with as2_id = "{partner_id}" and its certificate'
                )
            sender = str(options.get("as2_from", ""))
            if sender and sender not in ours:
                problems.append(
                    f"{where}: as2_from = {sender!r}: not one of the AS2 ids igw serve answers "
                    f"for ({', '.join(map(repr, ours))}); the partner's MDNs and messages to "
                    f"{sender!r} would be refused: add it to local.toml ([[identities]])"
                )
            cert_file = options.get("partner_cert_file")
            if partner is not None and isinstance(cert_file, str):
                problems.extend(_cert_problem(where, cert_file, partner, folder))
    return problems


def _cert_problem(
    where: str, cert_file: str, partner: PartnerConfig, folder: str | Path
) -> list[str]:
    try:
        found = certs.load_certificates(Path(cert_file).read_bytes())
    except (OSError, CertificateError):
        return []  # the connector reports an unreadable file when it is built
    configured = {c.fingerprint(hashes.SHA256()) for c in partner.partner.certs}
    if found and found[0].fingerprint(hashes.SHA256()) not in configured:
        return [
            f"{where}: partner_cert_file = {cert_file!r} is not among the certificates of "
            f"partner {partner.name!r} in {folder}: its MDNs would not verify"
        ]
    return []


def startup_report(profiles: Iterable[BuyerProfile], folder: str | Path) -> list[str]:
    """The warnings ``igw run`` prints at start for the ``as2`` channels of ``profiles``
    against the AS2 configuration in ``folder`` (what ``igw serve`` will answer with): a
    missing or broken folder is one warning, then :func:`channel_problems`."""
    channels = [
        profile
        for profile in profiles
        if any(channel.connector in AS2_CONNECTORS for channel in profile.channels())
    ]
    if not channels:
        return []
    if not (Path(folder) / LOCAL_FILE).is_file():
        names = ", ".join(repr(profile.name) for profile in channels)
        return [
            f"buyer profile(s) {names} send over as2, but there is no AS2 configuration at "
            f"{folder} (--as2-config): igw serve, which receives their asynchronous MDNs, "
            "cannot start with it"
        ]
    try:
        config = load_as2_config(folder)
    except ConfigError as exc:
        return [f"the AS2 configuration igw serve would use cannot be loaded: {exc}"]
    return channel_problems(config, channels, folder=folder)
