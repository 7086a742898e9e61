"""AS2 per tenant: a message addressed to one of our AS2 ids is stored for that id's tenant,
refused requests too, and local.toml's ``tenant`` keys are checked."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from as2_peer import US, endpoint_config, make_connector, running_endpoint
from connector_harness import document
from store_backends import T0, sqlite_url

from gateway.delivery.errors import DeliveryError
from gateway.store import Store
from gateway.store.inbound import list_inbound, list_refusals


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A migrated SQLite store with tenant acme."""
    opened = Store.open(sqlite_url(tmp_path))
    opened.migrate()
    opened.create_tenant("acme", "ACME", T0)
    yield opened
    opened.close()


def test_message_to_a_tenants_as2_id_is_stored_for_that_tenant(
    store: Store, tmp_path: Path
) -> None:
    """Our AS2 id IGW belongs to tenant acme: its inbound message is acme's, not the default
    tenant's; a refused request addressed to it is acme's refusal."""
    config = dataclasses.replace(endpoint_config(), tenant_ids={US: "acme"})
    with running_endpoint(store, config) as (base_url, _):
        connector = make_connector(base_url, tmp_path)
        receipt = connector.send(document(), delivery_id="d", idempotency_key="k")
        stranger = make_connector(base_url, tmp_path / "s", as2_from="STRANGER")
        with pytest.raises(DeliveryError, match="unknown-trading-partner"):
            stranger.send(document(), delivery_id="d2", idempotency_key="k2")
    assert receipt.transport_proof
    acme = store.for_tenant("acme")
    assert [m.message_id for m in list_inbound(acme)] == [receipt.message_id.strip("<>")]
    assert list_inbound(store) == []
    assert len(list_refusals(acme)) == 1 and list_refusals(store) == []


def test_local_toml_tenant_is_checked(tmp_path: Path) -> None:
    """A tenant id that is not one is a configuration problem naming file and id."""
    from as2_keys import write_identity

    from gateway.as2.config import load_as2_config
    from gateway.errors import ConfigError

    folder = tmp_path / "as2"
    key, cert = write_identity(folder, US)
    (folder / "local.toml").write_text(
        f'as2_id = "{US}"\nkey_file = "{key.name}"\ncert_file = "{cert.name}"\n'
        'tenant = "Not Valid"\n[[identities]]\nas2_id = "IGW-2"\ntenant = "acme"\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=r"local.toml: tenant of 'IGW'.*'Not Valid'"):
        load_as2_config(folder)


def test_local_toml_tenants_map_our_ids(tmp_path: Path) -> None:
    """``tenant`` in local.toml maps our AS2 ids; an identity without one has the main one's."""
    from as2_keys import write_identity

    from gateway.as2.config import load_as2_config

    folder = tmp_path / "as2"
    key, cert = write_identity(folder, US)
    (folder / "local.toml").write_text(
        f'as2_id = "{US}"\nkey_file = "{key.name}"\ncert_file = "{cert.name}"\n'
        'tenant = "acme"\n[[identities]]\nas2_id = "IGW-2"\n'
        '[[identities]]\nas2_id = "IGW-3"\ntenant = "default"\n',
        encoding="utf-8",
    )
    config = load_as2_config(folder)
    assert [config.tenant_of(i) for i in (US, "IGW-2", "IGW-3", "OTHER", None)] == [
        "acme",
        "acme",
        "default",
        "default",
        "default",
    ]
    assert config.tenants == ("default", "acme")
