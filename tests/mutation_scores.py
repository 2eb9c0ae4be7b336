"""Prints the mutation score of each module `make mutation` covers, from mutmut's results in
mutants/ (the .meta file mutmut keeps beside each mutated module), and the survivors.

    python -m tests.mutation_scores [--survivors] [--fail-under-core 90] [--fail-under 80]

Killed ratio = killed (a test failed, or the run timed out) / mutants checked. A mutant
with no test reaching it counts as surviving; one never checked is left out and counted.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

MUTANTS = Path("mutants")
CORE = ("domain/claims.py", "domain/holds.py", "domain/ledger.py")
KILLED = {1, 3, 24, -24, 152, 255, 36, 37}
SURVIVED = {0, 5, 33}


def results() -> dict[str, dict[str, int | None]]:
    found = {}
    for meta in sorted(MUTANTS.rglob("*.py.meta")):
        module = str(meta.relative_to(MUTANTS)).removesuffix(".meta")
        found[module] = json.loads(meta.read_text())["exit_code_by_key"]
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--survivors", action="store_true", help="list each surviving mutant")
    parser.add_argument("--fail-under-core", type=float, default=None)
    parser.add_argument("--fail-under", type=float, default=None)
    args = parser.parse_args()
    failed = []
    print(f"{'module':36} {'killed':>7} {'checked':>8} {'score':>7} {'unchecked':>10}")
    for module, codes in results().items():
        counts = Counter(
            "killed"
            if c in KILLED
            else "survived"
            if c in SURVIVED
            else "unchecked"
            if c is None
            else "other"
            for c in codes.values()
        )
        checked = counts["killed"] + counts["survived"] + counts["other"]
        if not checked:
            print(f"{module:36} {'-':>7} {0:>8} {'-':>7} {counts['unchecked']:>10}")
            continue
        score = 100 * counts["killed"] / checked
        print(
            f"{module:36} {counts['killed']:>7} {checked:>8} {score:>6.1f}% "
            f"{counts['unchecked']:>10}"
        )
        bound = args.fail_under_core if module in CORE else args.fail_under
        if bound is not None and score < bound:
            failed.append(f"{module}: {score:.1f}% < {bound}%")
        if args.survivors:
            for name, code in sorted(codes.items()):
                if code in SURVIVED or (code is not None and code not in KILLED):
                    print(f"    survived ({code}): {name}")
    for line in failed:
        print(f"below target: {line}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
