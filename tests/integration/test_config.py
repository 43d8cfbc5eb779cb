# SPDX-License-Identifier: MIT
"""Configuration: file + environment, validated at startup with FILE:LINE
errors; --check-config, --version, --help."""

import re
import time

import pytest

from conftest import CONF_FILE, run_hookstream


def _show(cp):
    return f"exit {cp.returncode}\nstdout: {cp.stdout!r}\nstderr: {cp.stderr!r}"


def _good_conf(tmp_path, name="good.conf"):
    """The shipped config with a non-empty allowlist."""
    text = CONF_FILE.read_text()
    assert re.search(r"(?m)^allow =\s*$", text), "conf/hookstream.conf has no 'allow =' line"
    text = re.sub(r"(?m)^allow =\s*$", "allow = 127.0.0.1", text)
    p = tmp_path / name
    p.write_text(text)
    return p


def _write(tmp_path, lines, name="test.conf"):
    p = tmp_path / name
    p.write_text("\n".join(lines) + "\n")
    return p


def test_check_config_good(tmp_path):
    cp = run_hookstream(["--check-config"])
    assert cp.returncode == 0, _show(cp)


def test_check_config_needs_no_redis():
    # run_hookstream points redis_url at a port where nothing listens
    t0 = time.monotonic()
    cp = run_hookstream(["--check-config"])
    assert cp.returncode == 0, _show(cp)
    assert time.monotonic() - t0 < 5, "--check-config should not wait for Redis"


def test_check_config_good_file(tmp_path):
    conf = _good_conf(tmp_path)
    cp = run_hookstream(["-c", str(conf), "--check-config"], env={"HOOKSTREAM_ALLOW": None})
    assert cp.returncode == 0, _show(cp)


def test_config_env_var_names_file(tmp_path):
    conf = _good_conf(tmp_path)
    cp = run_hookstream(["--check-config"],
                        env={"HOOKSTREAM_ALLOW": None, "HOOKSTREAM_CONFIG": str(conf)})
    assert cp.returncode == 0, _show(cp)
    bad = _write(tmp_path, ["# via HOOKSTREAM_CONFIG", "allow = 127.0.0.1", "max_body = lots"])
    cp = run_hookstream(["--check-config"], env={"HOOKSTREAM_CONFIG": str(bad)})
    assert cp.returncode != 0, _show(cp)
    assert f"{bad}:3:" in cp.stderr and "max_body" in cp.stderr, _show(cp)


def test_empty_allowlist_refused():
    cp = run_hookstream(["--check-config"], env={"HOOKSTREAM_ALLOW": ""})
    assert cp.returncode != 0, _show(cp)
    assert "allow" in cp.stderr.lower(), _show(cp)


def test_empty_allow_env_overrides_file(tmp_path):
    conf = _good_conf(tmp_path)
    cp = run_hookstream(["-c", str(conf), "--check-config"], env={"HOOKSTREAM_ALLOW": ""})
    assert cp.returncode != 0, f"an empty HOOKSTREAM_ALLOW must win over the file: {_show(cp)}"
    assert "allow" in cp.stderr.lower(), _show(cp)


@pytest.mark.parametrize("value", ["not-an-ip", "10.1.2.3/8", "127.0.0.1/33"])
def test_bad_allow_entry_refused(value):
    cp = run_hookstream(["--check-config"], env={"HOOKSTREAM_ALLOW": value})
    assert cp.returncode != 0, _show(cp)
    assert "allow" in cp.stderr.lower(), _show(cp)


def test_unknown_key_reports_file_line(tmp_path):
    conf = _write(tmp_path, ["# test config", "allow = 127.0.0.1", "no_such_key = 1"])
    cp = run_hookstream(["-c", str(conf), "--check-config"])
    assert cp.returncode != 0, _show(cp)
    assert f"{conf}:3:" in cp.stderr, _show(cp)
    assert "no_such_key" in cp.stderr, _show(cp)


def test_bad_value_reports_file_line(tmp_path):
    conf = _write(tmp_path, ["# test config", "allow = 127.0.0.1", "; a comment",
                             "max_body = lots"])
    cp = run_hookstream(["-c", str(conf), "--check-config"])
    assert cp.returncode != 0, _show(cp)
    assert f"{conf}:4:" in cp.stderr, _show(cp)
    assert "max_body" in cp.stderr, _show(cp)


def test_duplicate_key_reports_file_line(tmp_path):
    conf = _write(tmp_path, ["# test config", "max_body = 1000", "allow = 127.0.0.1", "",
                             "max_body = 2000"])
    cp = run_hookstream(["-c", str(conf), "--check-config"])
    assert cp.returncode != 0, _show(cp)
    assert f"{conf}:5:" in cp.stderr, _show(cp)
    assert "max_body" in cp.stderr, _show(cp)


def test_bad_env_value_names_key_and_variable():
    cp = run_hookstream(["--check-config"], env={"HOOKSTREAM_MAX_BODY": "abc"})
    assert cp.returncode != 0, _show(cp)
    assert "max_body" in cp.stderr, _show(cp)
    assert "HOOKSTREAM_MAX_BODY" in cp.stderr, _show(cp)


def test_bad_log_level_refused():
    cp = run_hookstream(["--check-config"], env={"HOOKSTREAM_LOG_LEVEL": "chatty"})
    assert cp.returncode != 0, _show(cp)
    assert "log_level" in cp.stderr, _show(cp)


def test_missing_config_file(tmp_path):
    missing = tmp_path / "nope.conf"
    cp = run_hookstream(["-c", str(missing), "--check-config"])
    assert cp.returncode != 0, _show(cp)
    assert str(missing) in cp.stderr, _show(cp)


def test_startup_refused_with_empty_allowlist():
    # Not just --check-config: the daemon itself refuses to start.
    cp = run_hookstream([], env={"HOOKSTREAM_ALLOW": ""}, timeout=5)
    assert cp.returncode != 0, _show(cp)
    assert "allow" in cp.stderr.lower(), _show(cp)


def test_version():
    cp = run_hookstream(["--version"])
    assert cp.returncode == 0, _show(cp)
    assert re.search(r"\d+\.\d+", cp.stdout + cp.stderr), _show(cp)


def test_help():
    cp = run_hookstream(["--help"])
    assert cp.returncode == 0, _show(cp)
    assert "--check-config" in cp.stdout + cp.stderr, _show(cp)


def test_unknown_option():
    cp = run_hookstream(["--no-such-option"])
    assert cp.returncode != 0, _show(cp)
