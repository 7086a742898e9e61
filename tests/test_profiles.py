"""Buyer profiles load from TOML and fail at start-up with file, dotted key and a suggestion."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from shared_dir import ROOT

from gateway.errors import ConfigError
from gateway.profiles.load import load_profile, load_profiles
from gateway.profiles.profile import DEFAULT_PROFILE, BuyerProfile, RetryPolicy

FILE_CHANNEL = '[channel]\nconnector = "file"\noptions = { directory = "out" }\n'


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(folder: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        load_profiles(folder)
    return str(caught.value)


def test_example_profiles_load() -> None:
    """The shipped config/buyers examples load: Peppol, XRechnung group, EANCOM GLN, default."""
    profiles = load_profiles(ROOT / "config" / "buyers")
    assert profiles.default is not None and profiles.default.name == "default"
    assert profiles["nordwind-peppol"].format == "peppol-bis3"
    assert len(profiles["nordwind-peppol"].channels()) == 2
    assert profiles["frischmarkt-eancom"].consolidation == "per-day"
    assert profiles["frischmarkt-eancom"].proof.expected() == {
        "transport": timedelta(minutes=30),
        "syntax": timedelta(hours=24),
    }
    group = profiles["de-public-xrechnung"].group
    assert group is not None and group.address_schemes == ("0204",)


def test_defaults_keep_old_constructor_working() -> None:
    """BuyerProfile() and BuyerProfile(name, format, options) still work, with sane defaults."""
    assert DEFAULT_PROFILE.format == "peppol-bis3" and DEFAULT_PROFILE.options == {}
    profile = BuyerProfile(name="x", format="cxml", options={"a": "b"})
    assert profile.consolidation == "per-invoice"
    assert profile.proof.expected() == {"transport": timedelta(hours=1)}
    assert profile.retry.attempts == 5 and profile.channels() == ()


def test_unknown_top_level_key_names_file_and_suggests(tmp_path: Path) -> None:
    """A misspelt top-level key names the file, the key and the closest known key."""
    path = write(tmp_path, "acme", 'default = true\nformatt = "ubl"\n' + FILE_CHANNEL)
    text = problems_of(tmp_path)
    assert str(path) in text
    assert "unknown key 'formatt'; did you mean 'format'?" in text


def test_unknown_nested_key_is_dotted(tmp_path: Path) -> None:
    """A misspelt key inside a table is reported dotted (retry.atempts -> attempts)."""
    write(tmp_path, "acme", "default = true\n" + FILE_CHANNEL + "[retry]\natempts = 3\n")
    assert "unknown key 'retry.atempts'; did you mean 'attempts'?" in problems_of(tmp_path)


def test_unknown_key_in_fallback_array_names_index(tmp_path: Path) -> None:
    """A bad key in the second [[fallback]] is reported as fallback[1].<key>."""
    fallback = '[[fallback]]\nconnector = "memory"\n[[fallback]]\nconector = "memory"\n'
    write(tmp_path, "acme", "default = true\n" + FILE_CHANNEL + fallback)
    assert "unknown key 'fallback[1].conector'; did you mean 'connector'?" in problems_of(tmp_path)


def test_unknown_format_alias_suggests(tmp_path: Path) -> None:
    """An unknown format names file and key and suggests the closest mapping alias."""
    path = write(tmp_path, "acme", 'default = true\nformat = "peppol-bis"\n' + FILE_CHANNEL)
    text = problems_of(tmp_path)
    assert f"{path}: format = 'peppol-bis'" in text and "did you mean 'peppol-bis3'" in text


def test_unknown_connector_alias_suggests(tmp_path: Path) -> None:
    """An unknown connector names channel.connector and suggests the closest alias."""
    write(tmp_path, "acme", 'default = true\n[channel]\nconnector = "fiel"\n')
    text = problems_of(tmp_path)
    assert "channel.connector = 'fiel'" in text and "did you mean 'file'" in text


def test_unknown_connector_option_suggests(tmp_path: Path) -> None:
    """An option the connector does not take is refused with the closest accepted option."""
    write(
        tmp_path,
        "acme",
        'default = true\n[channel]\nconnector = "file"\noptions = { directroy = "out" }\n',
    )
    text = problems_of(tmp_path)
    assert "channel.options.directroy" in text and "did you mean 'directory'" in text
    assert "channel.options.directory: missing" in text


def test_wrong_values_name_key_value_and_reason(tmp_path: Path) -> None:
    """Bad values (GLN check digit, duration, consolidation) name key, value and the reason."""
    write(
        tmp_path,
        "acme",
        FILE_CHANNEL + '[ids]\nglns = ["4012345000008"]\n[retry]\nbackoff_base = "soon"\n',
    )
    write(tmp_path, "beta", 'default = true\nconsolidation = "weekly"\n' + FILE_CHANNEL)
    text = problems_of(tmp_path)
    assert "ids.glns[0] = '4012345000008'" in text and "check digit" in text
    assert "retry.backoff_base = 'soon'" in text
    assert "consolidation = 'weekly'" in text and "per-day" in text


def test_every_broken_file_is_reported_at_once(tmp_path: Path) -> None:
    """Problems in several files come in one error listing each file."""
    a = write(tmp_path, "a", "default = true\nchanel = 1\n" + FILE_CHANNEL)
    b = write(tmp_path, "b", "this is not toml")
    text = problems_of(tmp_path)
    assert "2 problem(s)" in text and str(a) in text and f"{b}: not valid TOML" in text


def test_profile_that_matches_nothing_is_refused(tmp_path: Path) -> None:
    """A profile with no ids, no group and not default could never be used: refused."""
    write(tmp_path, "lost", FILE_CHANNEL)
    assert "matches no invoice" in problems_of(tmp_path)


def test_missing_channel_is_refused(tmp_path: Path) -> None:
    """A profile without a channel is refused with an example of what to add."""
    write(tmp_path, "acme", "default = true\n")
    assert 'channel: missing; add e.g. [channel] connector = "file"' in problems_of(tmp_path)


def test_two_profiles_claiming_one_id_is_ambiguous(tmp_path: Path) -> None:
    """Two files claiming the same buyer id (after normalisation) fail naming both files."""
    first = write(tmp_path, "a", FILE_CHANNEL + '[ids]\nvat_ids = ["DE 123456789"]\n')
    second = write(tmp_path, "b", FILE_CHANNEL + '[ids]\nvat_ids = ["de123456789"]\n')
    text = problems_of(tmp_path)
    assert f"{second}: ids.vat_ids: 'DE123456789' is already claimed" in text
    assert str(first) in text


def test_two_defaults_and_twin_groups_and_names_are_refused(tmp_path: Path) -> None:
    """Only one default, one group per criteria set and one profile per name are allowed."""
    group = '[group]\nname = "g"\ncountries = ["DE"]\n'
    write(tmp_path, "a", "default = true\n" + FILE_CHANNEL)
    write(tmp_path, "b", "default = true\n" + FILE_CHANNEL)
    write(tmp_path, "c", FILE_CHANNEL + group)
    write(tmp_path, "d", FILE_CHANNEL + group)
    write(tmp_path, "e", 'name = "c"\n[ids]\nglns = ["4012345000009"]\n' + FILE_CHANNEL)
    text = problems_of(tmp_path)
    assert "is already the default" in text
    assert "same criteria as profile 'c'" in text
    assert "name = 'c': already used by" in text


def test_profile_name_defaults_to_file_name(tmp_path: Path) -> None:
    """Without name =, the profile is named after its file."""
    profile = load_profile(write(tmp_path, "globex", "default = true\n" + FILE_CHANNEL))
    assert profile.name == "globex"


def test_missing_folder_is_a_config_error(tmp_path: Path) -> None:
    """A profile folder that does not exist fails naming it."""
    with pytest.raises(ConfigError, match="folder does not exist"):
        load_profiles(tmp_path / "absent")


def test_retry_delay_is_exponential_capped_and_jittered() -> None:
    """delay() doubles from backoff_base, stops at backoff_max, and stays within the jitter."""
    retry = RetryPolicy(backoff_base="10s", backoff_max="1m", jitter=0.5)
    assert [retry.delay(n).total_seconds() for n in (1, 2, 3, 4, 5)] == [10, 20, 40, 60, 60]
    assert retry.delay(1, 0.0) == timedelta(seconds=5)
    assert retry.delay(1, 1.0) == timedelta(seconds=15)


def test_batching_needs_an_interchange_syntax(tmp_path: Path) -> None:
    """per-day consolidation is refused for UBL (one invoice per document), accepted for EANCOM."""
    write(tmp_path, "ubl", 'default = true\nconsolidation = "per-day"\n' + FILE_CHANNEL)
    text = problems_of(tmp_path)
    assert "consolidation = 'per-day': format 'peppol-bis3' (ubl)" in text
    assert "accepted: 'per-invoice'" in text
    edi = 'default = true\nformat = "eancom-d96a"\nconsolidation = "per-day"\n'
    assert load_profile(write(tmp_path, "edi", edi + FILE_CHANNEL)).consolidation == "per-day"


def test_name_problems_are_reported_with_model_problems(tmp_path: Path) -> None:
    """An unknown connector is reported in the same run as an unknown key of the same file."""
    write(tmp_path, "acme", 'default = true\nformatt = "x"\n[channel]\nconnector = "fiel"\n')
    text = problems_of(tmp_path)
    assert "unknown key 'formatt'" in text and "channel.connector = 'fiel'" in text


def test_consolidation_settings_load_and_are_checked(tmp_path: Path) -> None:
    """cut_off (a TOML time) and batch_limit load; a misspelt cut-off key suggests cut_off and
    a batch_limit of 0 names the key, value and bound."""
    write(
        tmp_path,
        "edi",
        'default = true\nformat = "eancom-d96a"\nconsolidation = "per-day"\n'
        "cut_off = 16:30:00\nbatch_limit = 250\n" + FILE_CHANNEL,
    )
    profile = load_profiles(tmp_path)["edi"]
    assert (profile.cut_off.hour, profile.cut_off.minute, profile.batch_limit) == (16, 30, 250)
    write(tmp_path, "edi", 'default = true\nformat = "eancom-d96a"\ncutoff = 1\n' + FILE_CHANNEL)
    assert "unknown key 'cutoff'; did you mean 'cut_off'?" in problems_of(tmp_path)
    write(
        tmp_path, "edi", 'default = true\nformat = "eancom-d96a"\nbatch_limit = 0\n' + FILE_CHANNEL
    )
    text = problems_of(tmp_path)
    assert "batch_limit = 0" in text and "greater than or equal to 1" in text
