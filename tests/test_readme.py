"""The README stays true: every setting is in its configuration table, the commands exist."""

import re
from pathlib import Path

from settings import env_names

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_every_setting_is_documented_in_the_readme():
    missing = sorted(name for name in env_names() if f"`{name}`" not in README)
    assert missing == []


def test_readme_names_only_make_targets_that_exist():
    makefile = (ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z-]+):", makefile, flags=re.M))
    named = set(re.findall(r"`make ([a-z-]+)`", README))
    assert {"run", "test"} <= named
    assert named - targets == set()
