"""The parts fit a device call beside the working tree, and the calls are spelled out in order."""

from __future__ import annotations

from pathlib import Path

import pytest

from loadtest.gpu import prepare

MIB = prepare.MIB
COMMAND_LIMIT = 2000  # characters the device tool takes per command


def test_a_part_is_what_the_tree_leaves_free_less_a_margin() -> None:
    assert prepare.part_bytes(36 * MIB) == 24 * MIB
    assert prepare.part_bytes(int(36.7 * MIB)) == 23 * MIB


def test_a_tree_too_large_for_any_part_is_an_error() -> None:
    with pytest.raises(RuntimeError, match=r"working tree is 58\.0 MiB"):
        prepare.part_bytes(58 * MIB)


def test_every_part_gets_a_call_and_the_last_one_measures() -> None:
    calls = prepare.device_calls(prepare.ROOT / ".gpu", 3)
    assert [call.carry for call in calls] == [(f".gpu/part-{i}",) for i in (1, 2, 3)]
    assert all("receive .gpu/part-" in call.command for call in calls)
    assert "loadtest.gpu check --out $OUT" in calls[-1].command
    assert "check" not in calls[0].command
    assert all(len(call.command) < COMMAND_LIMIT for call in calls)
    assert calls[-1].timeout_s > calls[0].timeout_s


def test_the_travelling_tree_leaves_the_bundle_out(tmp_path: Path) -> None:
    tree = prepare.travelling_bytes(prepare.ROOT, prepare.ROOT / "loadtest")
    assert 0 < tree < prepare.travelling_bytes(prepare.ROOT, tmp_path)


def test_a_folder_outside_the_checkout_never_travels(tmp_path: Path) -> None:
    assert prepare.is_ignored(prepare.ROOT, tmp_path)


def test_the_call_list_reads_as_instructions() -> None:
    text = prepare.describe_calls(prepare.device_calls(prepare.ROOT / ".gpu", 2))
    assert "call 1/2: timeout_s=120 carry=['.gpu/part-1']" in text
    assert "back to back" in text
