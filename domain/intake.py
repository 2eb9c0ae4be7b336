"""Intake validation: every problem with an episode opening, listed at once (§1, §2)."""

from __future__ import annotations

import re
from datetime import datetime

from domain.codes import npi_is_valid
from domain.commands import OpenEpisode
from domain.levels import dimension_problems, level_problems

# ICD-10-CM: a letter, two characters, then an optional dot and up to four more.
ICD10 = re.compile(r"^[A-TV-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?$")


def intake_problems(cmd: OpenEpisode, now: datetime, known_code: set[str]) -> list[str]:
    problems = level_problems(cmd.asam_edition, cmd.from_level, cmd.to_level)
    problems += dimension_problems(cmd.asam_edition, cmd.dimensions)
    problems += [
        f"requested.service_codes: {code!r} is not a known HCPCS/CPT or revenue code"
        for code in cmd.requested.service_codes
        if code not in known_code
    ]
    problems += [
        f"diagnoses: {dx!r} is not an ICD-10-CM code (e.g. F33.1)"
        for dx in cmd.diagnoses
        if not ICD10.match(dx)
    ]
    if cmd.patient.birth_date >= now.date():
        problems.append("patient.birth_date must be in the past")
    prior = cmd.prior_authorization
    if prior is not None:
        if prior.start > prior.end:
            problems.append("prior_authorization.start is after its end")
        if prior.level != cmd.from_level:
            problems.append(
                f"prior_authorization.level {prior.level!r} differs from from_level "
                f"{cmd.from_level!r}: the prior authorization is for the level stepped down from"
            )
    through = cmd.php_last_claim_through
    if through is not None and through > cmd.requested.start:
        problems.append("php_last_claim_through is after requested.start")
    if cmd.attending is not None and not npi_is_valid(cmd.attending.npi):
        problems.append(f"attending.npi {cmd.attending.npi} fails its check digit")
    return problems
