"""Help at 80 columns: whole command summaries, options grouped by panel, readable placeholders."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from tunecli.cli import app
from tunecli.ui.commandline import summary

runner = CliRunner()
COMMANDS = ("search", "lr-find", "report", "train", "dashboard")


def _help(*args: str) -> str:
    result = runner.invoke(app, [*args, "--help"], env={"COLUMNS": "80"}, terminal_width=80)
    assert result.exit_code == 0, result.output
    assert all(len(line) <= 80 for line in result.output.splitlines()), result.output
    return result.output


def test_the_command_list_gives_every_summary_whole() -> None:
    import typer

    commands = typer.main.get_command(app).commands
    listing = " ".join(_help().split("Commands:", 1)[1].split())
    for name in COMMANDS:
        assert summary(commands[name]) in listing, name
    assert "Refit the best configuration on train + validation and show it beside the model the search kept; " \
           "score each once on the unseen test split." in listing
    assert "..." not in listing


def test_search_groups_its_options_by_panel_with_readable_placeholders() -> None:
    text = _help("search")
    assert text.startswith("Usage: tunecli search [OPTIONS] SPACE_FILE")
    titles = [line for line in text.splitlines() if line and not line.startswith(" ") and line.endswith(":")]
    assert titles == ["Arguments:", "Data:", "Search:", "Training:", "Storage:", "Output:", "Options:"]
    for shown in ("--target COLUMN", "--drop COLUMN", "--best-out FILE", "--timeout DURATION", "--trials N",
                  "--more N", "--storage URL"):
        assert shown in text
    for hidden in ("<list[str]>", "<str>", "<int>", "<path>", "{space_file}", "{SPACE_FILE}"):
        assert hidden not in text


@pytest.mark.parametrize("name", COMMANDS[1:])
def test_every_command_has_its_options_in_panels(name: str) -> None:
    text = _help(name)
    assert "<str>" not in text and "<path>" not in text and "<int>" not in text
    body = text.split("Options:", 1)[1]      # what no panel holds: only --debug and --help
    assert [line.split()[0] for line in body.splitlines() if line.startswith("  --")] == ["--debug", "--help"]
