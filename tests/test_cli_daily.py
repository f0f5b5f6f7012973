"""Plain words, one name for "when", and complaint replies that are logged as contacts."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import python_calamine

from sheetcrm.cli import cli
from sheetcrm.contract import ALIASES, VOCABULARIES, canonical_choice
from tests.conftest import AS_OF


def table(path, sheet):
    rows = (
        python_calamine.CalamineWorkbook.from_path(str(path)).get_sheet_by_name(sheet).to_python()
    )
    return [dict(zip(rows[0], r, strict=False)) for r in rows[1:]]


def run(runner, *args, ok=True):
    result = runner.invoke(cli, [str(a) for a in args])
    assert "Traceback" not in result.output
    if ok:
        assert result.exit_code == 0, result.output
    return result


def test_every_alias_names_a_word_of_its_list():
    for vocabulary, aliases in ALIASES.items():
        for alias, word in aliases.items():
            assert word in VOCABULARIES[vocabulary], (vocabulary, alias)
            assert alias not in VOCABULARIES[vocabulary], (vocabulary, alias)


@pytest.mark.parametrize(
    "typed,meant",
    [
        ("call", "phone"),
        ("Phone call", "phone"),
        ("visit", "in_person"),
        ("in person", "in_person"),
        ("Walk-in", "in_person"),
        ("mail", "email"),
        ("E-mail", "email"),
        ("text", "sms"),
        ("post", "letter"),
        ("fax", None),
    ],
)
def test_plain_channel_words(typed, meant):
    assert canonical_choice("channel", typed) == meant


def test_log_takes_plain_words(runner, make_book):
    path = make_book()
    run(
        runner,
        "log",
        "-w",
        path,
        "--customer",
        "C-0002",
        "--channel",
        "visit",
        "--type",
        "inquiry",
        "--summary",
        "Asked about e-bikes",
        "--direction",
        "incoming",
        "--at",
        "2026-11-20 14:30",
    )
    row = table(path, "Interactions")[-1]
    assert (row["channel"], row["type"], row["direction"], row["date"]) == (
        "in_person",
        "enquiry",
        "inbound",
        dt.datetime(2026, 11, 20, 14, 30),
    )
    refused = run(
        runner,
        "log",
        "-w",
        path,
        "--customer",
        "C-0002",
        "--channel",
        "fax",
        "--type",
        "support",
        "--summary",
        "x",
        ok=False,
    )
    assert refused.exit_code == 2 and "'fax' is not one of" in refused.stderr


def test_cells_with_plain_words_are_read_as_the_list_word(runner, make_book, valid_records):
    valid_records["Interactions"][0]["channel"] = "Call"
    valid_records["Interactions"][1]["channel"] = "in person"
    valid_records["Customers"][0]["preferred_channel"] = "text"
    path = make_book(valid_records)
    report = json.loads(
        run(runner, "validate", "-w", path, "--as-of", AS_OF, "--format", "json").stdout
    )
    assert report["problems"] == []
    story = json.loads(
        run(
            runner, "customer", "show", "C-0001", "-w", path, "--as-of", AS_OF, "--format", "json"
        ).stdout
    )
    assert story["customer"]["preferred_channel"] == "sms"
    contacts = [e["what"] for e in story["timeline"] if e["kind"] == "interaction"]
    assert contacts == ["complaint by phone (inbound)"]


def test_help_shows_a_date_not_a_pattern(runner):
    for command in (["log"], ["sale"], ["complaint", "open"], ["complaint", "respond"]):
        text = run(runner, *command, "--help").stdout
        assert '--at, --date "2026-11-20 14:30"' in text, command
        assert "%Y" not in text, command
    bad = run(runner, "log", "--at", "20/11/2026", ok=False)
    assert bad.exit_code == 2 and "type it as 2026-11-20 14:30" in bad.stderr


def test_complaint_open_without_channel_records_the_one_it_logged(runner, make_book):
    path = make_book()
    run(
        runner,
        "complaint",
        "open",
        "-w",
        path,
        "--customer",
        "C-0001",
        "--severity",
        "low",
        "--summary",
        "Bell rattles",
        "--at",
        "2026-11-20 10:00",
    )
    complaint = table(path, "Complaints")[-1]
    contact = table(path, "Interactions")[-1]
    assert complaint["channel"] == contact["channel"] == "email"  # Jane prefers email


def test_complaint_respond_logs_what_was_said(runner, make_book, valid_records):
    valid_records["Complaints"][0].update(
        status="open", first_response=None, resolved=None, resolution=None
    )
    path = make_book(valid_records)
    out = run(
        runner,
        "complaint",
        "respond",
        "K-0001",
        "-w",
        path,
        "--at",
        "2026-11-02 11:00",
        "--channel",
        "call",
        "--summary",
        "Apologised; booked a re-check for Tuesday",
    )
    assert "logged I-0003, phone, Kari" in out.stdout
    said = table(path, "Interactions")[-1]
    assert {k: said[k] for k in ("customer_id", "staff", "channel", "direction", "type")} == {
        "customer_id": "C-0001",
        "staff": "Kari",
        "channel": "phone",
        "direction": "outbound",
        "type": "support",
    }
    assert said["summary"] == "Apologised; booked a re-check for Tuesday"
    assert (said["complaint_id"], said["outcome"]) == ("K-0001", "follow_up_needed")
    assert said["date"] == dt.datetime(2026, 11, 2, 11)
    complaint = table(path, "Complaints")[0]
    assert (complaint["status"], complaint["first_response"]) == (
        "in_progress",
        dt.datetime(2026, 11, 2, 11),
    )
    story = json.loads(
        run(
            runner, "customer", "show", "jane", "-w", path, "--as-of", AS_OF, "--format", "json"
        ).stdout
    )
    said_in_story = [e for e in story["timeline"] if e["id"] == "I-0003"]
    assert said_in_story[0]["text"] == "Apologised; booked a re-check for Tuesday"
    # resolving with a summary logs the closing contact too
    run(
        runner,
        "complaint",
        "resolve",
        "K-0001",
        "-w",
        path,
        "--resolution",
        "Re-adjusted",
        "--summary",
        "Called: all fixed",
        "--at",
        "2026-11-03 09:00",
    )
    closing = table(path, "Interactions")[-1]
    assert (closing["summary"], closing["outcome"], closing["channel"]) == (
        "Called: all fixed",
        "resolved",
        "phone",  # the complaint's own channel
    )
    assert run(runner, "validate", "-w", path, "--as-of", AS_OF).exit_code == 0


def test_complaint_respond_without_a_summary_still_logs_the_contact(
    runner, make_book, valid_records
):
    valid_records["Complaints"][0].update(
        status="open", first_response=None, resolved=None, resolution=None
    )
    path = make_book(valid_records)
    run(runner, "complaint", "respond", "K-0001", "-w", path, "--at", "2026-11-02 11:00")
    said = table(path, "Interactions")[-1]
    assert (said["summary"], said["channel"]) == ("Responded to complaint K-0001", "phone")
