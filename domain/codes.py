"""Code tables of DOMAIN §6–§7: revenue codes, HCPCS/CPT codes, time rules, TOB, NPI."""

from __future__ import annotations

from domain.model import Setting


def _span(first: int, last: int) -> frozenset[str]:
    """Numeric code ranges as DOMAIN writes them (96130–96133 → 96130, 96131, 96132, 96133)."""
    return frozenset(str(n) for n in range(first, last + 1))


# §6: revenue code → the HCPCS/CPT codes DOMAIN lists for it ("not all-inclusive" for 0905).
_OCCUPATIONAL_THERAPY = frozenset({"G0129"})
REVENUE_CODES: dict[str, frozenset[str]] = {
    "0250": frozenset(),  # drugs: reported without HCPCS
    **{f"043{digit}": _OCCUPATIONAL_THERAPY for digit in "0123456789"},
    "0900": frozenset({"90791", "90792"}) | _span(97153, 97158),
    "0904": frozenset({"G0176"}),
    "0905": frozenset(
        {"G0129", "G0176", "G0177", "G0410", "G0411", "90832", "90834", "90837", "90839"}
        | {"90845", "90846", "90847", "90849", "90853", "90880", "90899", "96112", "96116"}
        | {"96130", "96132", "96136", "96138"}
    ),
    "0906": frozenset(),  # IOP chemical dependency (OTP): codes not yet defined
    "0914": frozenset(
        {"90785", "90832", "90833", "90834", "90836", "90837", "90838", "90839", "90840"}
        | {"90845", "90865", "90880", "90899"}
    ),
    "0915": frozenset({"G0410", "G0411", "90853"}),
    "0916": frozenset({"90846", "90847", "90849"}),
    "0918": frozenset({"96112", "96116", "96146", "96156", "96158", "96161", "96164", "96167"})
    | _span(96130, 96133)
    | _span(96136, 96139)
    | frozenset({"97151", "97152"}),
    "0942": frozenset({"G0023", "G0024", "G0140", "G0146", "G0177", "G0451", "96202", "96203"})
    | _span(97550, 97552),
}

# §6: 0250 carries no HCPCS in any setting, so a line on it needs no code.
NO_HCPCS_REVENUE_CODES: frozenset[str] = frozenset({"0250"})
# §6: 0906's codes are not yet defined, so no pairing on it can fall outside the table.
UNDEFINED_PAIRING_REVENUE_CODES: frozenset[str] = frozenset({"0906"})

# §7 substance-use codes that no revenue code lists, plus common SUD ones (our choice:
# H0001 assessment, H0004 individual counseling per 15 min, H0005 group counseling).
_SUD_CODES = frozenset({"H0015", "H2019", "S9480", "H0001", "H0004", "H0005"})

# A set rather than a frozenset: callers union it with other sets and pass a `set[str]` on.
# Treat it as read-only.
KNOWN_CODES: set[str] = set().union(*REVENUE_CODES.values(), _SUD_CODES)

# Codes whose definition carries a time (per 15 min, 30/45/60 min, first hour, each
# additional …). Every other known code is untimed: §6's 45-minute minimum applies to it.
TIMED_CODES: frozenset[str] = (
    frozenset({"90832", "90833", "90834", "90836", "90837", "90838", "90839", "90840"})
    | frozenset({"90846", "90847", "H2019", "H0004"})
    | _span(96130, 96133)
    | _span(96136, 96139)
    | frozenset({"96112", "96116", "96158", "96164", "96167"})
    | _span(97151, 97158)
    | frozenset({"G0023", "G0024", "G0140", "G0146", "96202", "96203", "97550", "97551"})
)
UNTIMED_CODES: frozenset[str] = frozenset(KNOWN_CODES) - TIMED_CODES

# §7: group sessions need a signed attendance roster. Beyond 90853, G0410, G0411 and 90849
# we add the other group services of the table and H0005 (our choice, same §7 reason).
GROUP_CODES: frozenset[str] = frozenset(
    {"90853", "G0410", "G0411", "90849", "H0005", "96164", "96202", "96203", "97154", "97158"}
    | {"97552"}
)

# §6: a session of an untimed code under 45 minutes is not billed.
UNTIMED_MINIMUM_MINUTES = 45
# §7: CPT's psychotherapy time rule; under 16 minutes is not billable.
PSYCHOTHERAPY_TIME_CODES: tuple[str, ...] = ("90832", "90834", "90837")
PSYCHOTHERAPY_MINIMUM_MINUTES = 16
_PSYCHOTHERAPY_FLOORS: tuple[tuple[int, str], ...] = ((53, "90837"), (38, "90834"), (16, "90832"))


def psychotherapy_code_for(minutes: int) -> str | None:
    """§7: 16–37 min → 90832, 38–52 → 90834, 53 or more → 90837, under 16 → not billable."""
    for floor, code in _PSYCHOTHERAPY_FLOORS:
        if minutes >= floor:
            return code
    return None


def pair_in_table(revenue_code: str, code: str) -> bool:
    """Whether §6's table lists `code` under `revenue_code` (an empty code pairs with 0250)."""
    if revenue_code in UNDEFINED_PAIRING_REVENUE_CODES:
        return True
    listed = REVENUE_CODES.get(revenue_code, frozenset())
    return code in listed if code else revenue_code in NO_HCPCS_REVENUE_CODES


# §6: CAHs report the revenue code with units and no HCPCS; every other setting reports one.
SETTINGS_WITHOUT_HCPCS: frozenset[str] = frozenset({"cah"})

TYPE_OF_BILL_PREFIX: dict[Setting, str] = {
    "hospital_outpatient": "013",
    "cah": "085",
    "cmhc": "076",
    "rhc": "071",
    "fqhc": "077",
    # Our choice: DOMAIN names no TOB for OTPs or freestanding programs; 089 is
    # "special facility – other", the usual home of neither-hospital-nor-clinic bills.
    "otp": "089",
    "freestanding": "089",
}

STILL_A_PATIENT = "30"
PATIENT_STATUS: dict[str, str] = {
    "01": "discharged to home or self-care",
    "02": "discharged to a short-term hospital",
    "03": "discharged to a skilled nursing facility",
    "04": "discharged to an intermediate care facility",
    "05": "discharged to another institution",
    "06": "discharged to home health",
    "07": "left against medical advice",
    "09": "admitted as an inpatient to this hospital",
    "20": "expired",
    "21": "discharged to court or law enforcement",
    STILL_A_PATIENT: "still a patient",
    "41": "expired in a medical facility",
    "43": "discharged to a federal health care facility",
    "50": "discharged to hospice at home",
    "51": "discharged to a hospice facility",
    "61": "discharged to a swing bed",
    "62": "discharged to an inpatient rehabilitation facility",
    "63": "discharged to a long-term care hospital",
    "64": "discharged to a Medicaid-only nursing facility",
    "65": "discharged to a psychiatric hospital",
    "66": "discharged to a critical access hospital",
}

# §6 needs a valid rendering NPI: its 10th digit is the Luhn check digit of the NPI
# prefixed with 80840 (the ISO 7812 issuer prefix for US health identifiers).
_NPI_PREFIX = "80840"


def npi_is_valid(npi: str) -> bool:
    if len(npi) != 10 or not npi.isascii() or not npi.isdigit():
        return False
    total = 0
    for position, char in enumerate(reversed(_NPI_PREFIX + npi)):
        digit = int(char) * (2 if position % 2 else 1)
        total += digit - 9 if digit > 9 else digit
    return total % 10 == 0


# ---- how the payer counts units (DOMAIN §6 "Units", §7) -------------------------------------

# Per-diem / per-session codes: billed at most once a date, with one unit. H0015 and S9480 are
# per diem (§7); 90791/90792 (evaluations) are once a day under CPT. Our choice of set: these
# are the codes whose definition is "per diem" or "per evaluation" among the known ones.
PER_DAY_CODES: frozenset[str] = frozenset({"H0015", "S9480", "90791", "90792"})

# Codes defined per 15 minutes: units follow CMS's 8-minute rule (a unit for each full 15
# minutes, one more when 8 or more minutes remain).
FIFTEEN_MINUTE_CODES: frozenset[str] = frozenset(
    {"H2019", "H0004", "G0023", "G0024", "G0140", "G0146", "97550", "97551"} | _span(97151, 97158)
)


def fifteen_minute_units(minutes: int) -> int:
    """§6 units for a 15-minute code: full quarters, plus one for a remainder of 8+ minutes."""
    quarters, rest = divmod(minutes, 15)
    return quarters + (1 if rest >= 8 else 0)


# §7: H-codes billed for a group carry the HQ (group setting) modifier; like the CPT group codes
# they need a signed roster.
GROUP_MODIFIER = "HQ"

# §6 3 vs 4+ class: drug (025X) and supply (027X) lines are not IOP services the payer counts.
NOT_COUNTED_REVENUE_PREFIXES: tuple[str, ...] = ("025", "027")
