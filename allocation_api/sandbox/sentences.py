"""Legal status and sentence dates for sandbox prisoners, consistent with each other.

Handover and eligibility rules read these fields, so the sandbox must produce
the combinations the real prisoner search produces: determinate sentences
with CRD or ARD (some with PED, HDCED, TUSED), indeterminate sentences with
a tariff date and no release date, recalls with a post-recall release date,
immigration detainees, remands and the out-of-scope statuses. All dates are
offsets from `today`, so handover dates look realistic whenever the dev stack
runs; every branch is decided by random draws only (never by date values), so
one seed always yields the same draw sequence.

Orderings kept: SSD <= HDCED <= CRD, SSD <= PED <= CRD <= SED <= TUSED,
ARD <= SED, SSD <= TED, CRD <= PRRD <= SED for recalls.
"""

from __future__ import annotations

import bisect
import calendar
import datetime as dt
import random
from itertools import accumulate
from typing import Any

IN_SCOPE_LEGAL_STATUSES = frozenset(
    {"SENTENCED", "INDETERMINATE_SENTENCE", "RECALL", "IMMIGRATION_DETAINEE"}
)
"""Legal statuses the prison lists consider (docs/DOMAIN.md)."""

CIVIL_IMPRISONMENT_STATUSES = frozenset(
    {
        "A/FINE",
        "A_FINE",
        "A_CFINE",
        "CIVIL",
        "CIVIL_CON",
        "CIVIL_DT",
        "CIV_RMD",
        "YOC_CONT",
        "YO_CFINE",
    }
)
"""Imprisonment statuses of a civil sentence (docs/DOMAIN.md)."""

IMPRISONMENT_STATUS_DESCRIPTIONS: dict[str, str] = {
    "ADIMP_ORA": "ORA Sentencing Code Adult Imprisonment",
    "SENT03": "Adult Imprisonment Without Option CJA03",
    "LASPO_DR": "EDS LASPO Discretionary Release",
    "A_FINE": "Imprisonment in Default of Fine",
    "LIFE": "Life Imprisonment or Detention S.53(1) CYPA 1933",
    "MLP": "Adult Mandatory Life",
    "ALP": "Automatic Life",
    "IPP": "Indeterminate Sentence for the Public Protection",
    "LR": "Recalled to Prison from Parole (Non HDC)",
    "LR_ORA": "Licence Recall from ORA Sentence",
    "FTR_ORA": "ORA 28 Day Fixed Term Recall",
    "14FTR_ORA": "ORA 14 Day Fixed Term Recall",
    "LR_LIFE": "Recall to Custody Indeterminate Sentence",
    "LR_IPP": "Licence Recall from IPP Sentence",
    "DET": "Detained Under Immigration Acts",
    "RX": "Remanded to Magistrates Court",
    "TRL": "Committed to Crown Court for Trial",
    "JR": "Judgement Respited",
    "CIVIL": "Civil Imprisonment",
    "CIVIL_CON": "Civil Contempt",
    "CIVIL_DT": "Civil Prisoner Detention",
}

_LEGAL_STATUS_WEIGHTS: tuple[tuple[str, int], ...] = (
    ("SENTENCED", 570),
    ("INDETERMINATE_SENTENCE", 80),
    ("RECALL", 80),
    ("IMMIGRATION_DETAINEE", 40),
    ("REMAND", 110),
    ("CONVICTED_UNSENTENCED", 70),
    ("CIVIL_PRISONER", 20),
    ("UNKNOWN", 12),
    ("OTHER", 10),
    ("DEAD", 8),
)
_LEGAL_STATUSES = tuple(s for s, _ in _LEGAL_STATUS_WEIGHTS)
_LEGAL_STATUS_CUM = tuple(accumulate(w for _, w in _LEGAL_STATUS_WEIGHTS))

_DAYS_PER_MONTH = 30.4375
_IPP_ABOLISHED = dt.date(2012, 12, 3)


def add_months(day: dt.date, months: int) -> dt.date:
    """Calendar-month arithmetic clamped to the month's last day (as the domain does)."""
    year, month0 = divmod(day.year * 12 + day.month - 1 + months, 12)
    if day.day <= 28:  # every month has these days: skip the calendar lookup
        return dt.date(year, month0 + 1, day.day)
    last = calendar.monthrange(year, month0 + 1)[1]
    return dt.date(year, month0 + 1, min(day.day, last))


def _pick(rng: random.Random, options: tuple[str, ...]) -> str:
    """One option; cheaper than `Random.choice` and as deterministic."""
    return options[int(rng.random() * len(options))]


def draw_legal_status(rng: random.Random) -> str:
    """One legal status; about 77% fall in the four in-scope statuses."""
    return _weighted(rng, _LEGAL_STATUSES, _LEGAL_STATUS_CUM)


def _weighted(rng: random.Random, options: tuple[str, ...], cumulative: tuple[int, ...]) -> str:
    return options[bisect.bisect_right(cumulative, rng.random() * cumulative[-1])]


def draw_custody(
    rng: random.Random,
    today: dt.date,
    legal_status: str,
    *,
    released_on: dt.date | None = None,
) -> dict[str, Any]:
    """Prisoner-search fields describing custody for `legal_status` (None values left out).

    With `released_on` a determinate sentence is drawn whose release date is
    that day (for prisoners released in the sandbox's recent movements).
    """
    if released_on is not None:
        fields = _determinate(rng, today, released_on=released_on)
    elif legal_status == "SENTENCED":
        fields = _determinate(rng, today)
    elif legal_status == "INDETERMINATE_SENTENCE":
        fields = _indeterminate(rng, today)
    elif legal_status == "RECALL":
        fields = _recall(rng, today)
    elif legal_status == "IMMIGRATION_DETAINEE":
        fields = _immigration(rng, today)
    elif legal_status == "REMAND":
        fields = _status(_pick(rng, ("RX", "TRL")))
    elif legal_status == "CONVICTED_UNSENTENCED":
        fields = _status("JR")
    elif legal_status == "CIVIL_PRISONER":
        fields = _civil(rng, today)
    else:  # DEAD, UNKNOWN, OTHER: nothing reliable is known
        fields = {"recall": False, "indeterminateSentence": False}
    fields["legalStatus"] = legal_status
    return fields


def _status(code: str, *, recall: bool = False, isp: bool = False) -> dict[str, Any]:
    return {
        "imprisonmentStatus": code,
        "imprisonmentStatusDescription": IMPRISONMENT_STATUS_DESCRIPTIONS[code],
        "recall": recall,
        "indeterminateSentence": isp,
    }


def _iso(day: dt.date) -> str:
    return day.isoformat()


def _determinate(
    rng: random.Random, today: dt.date, *, released_on: dt.date | None = None
) -> dict[str, Any]:
    r = rng.random
    length_draw, kind_draw, ard_draw, hdc_draw, served_draw, confirm_draw = (
        r(),
        r(),
        r(),
        r(),
        r(),
        r(),
    )
    fine = kind_draw > 0.985
    if fine:
        months = 1 + int(length_draw * 3)
    elif length_draw < 0.25:
        months = 3 + int(length_draw / 0.25 * 9)
    elif length_draw < 0.70:
        months = 12 + int((length_draw - 0.25) / 0.45 * 36)
    else:
        months = 48 + int((length_draw - 0.70) / 0.30 * 133)
    eds = months >= 48 and kind_draw < 0.12
    sds_plus = months >= 84 and not eds and kind_draw < 0.40
    extension = 12 + int(kind_draw * 700) if eds else 0  # 12..95 months on licence
    share = 1.0 if eds else (2 / 3 if sds_plus else 0.5)
    custodial = max(1, int(months * _DAYS_PER_MONTH * share))
    if released_on is not None:
        ssd = released_on - dt.timedelta(days=custodial)
    else:
        ssd = today - dt.timedelta(days=int(served_draw * (custodial - 1)))
    crd = ssd + dt.timedelta(days=custodial)
    sed = add_months(ssd, months + extension) - dt.timedelta(days=1)
    code = "A_FINE" if fine else ("LASPO_DR" if eds else _pick(rng, ("ADIMP_ORA", "SENT03")))
    fields = _status(code)
    fields["sentenceStartDate"] = _iso(ssd)
    release = crd
    if months < 12 and ard_draw < 0.10:  # older automatic-release style: ARD instead of CRD
        fields["automaticReleaseDate"] = _iso(crd)
    else:
        fields["conditionalReleaseDate"] = _iso(crd)
        if ard_draw > 0.97:  # both present; ARD on or just before CRD
            ard = crd - dt.timedelta(days=int((ard_draw - 0.97) * 100))
            fields["automaticReleaseDate"] = _iso(ard)
            release = ard
    if eds:
        fields["paroleEligibilityDate"] = _iso(ssd + dt.timedelta(days=custodial * 2 // 3))
    elif not sds_plus and not fine and 3 <= months < 48 and hdc_draw < 0.6:
        span = (sed - ssd).days + 1
        hdced = max(ssd + dt.timedelta(days=max(span // 4, 28)), crd - dt.timedelta(days=180))
        fields["homeDetentionCurfewEligibilityDate"] = _iso(min(hdced, crd))
    fields["sentenceExpiryDate"] = _iso(sed)
    fields["licenceExpiryDate"] = _iso(sed)
    if months < 24:
        fields["topupSupervisionExpiryDate"] = _iso(add_months(release, 12))
    if released_on is None and (release - today).days <= 60 and confirm_draw < 0.5:
        fields["confirmedReleaseDate"] = _iso(release)
    fields["releaseDate"] = _iso(release)
    return fields


def _indeterminate(rng: random.Random, today: dt.date) -> dict[str, Any]:
    code = _weighted(rng, ("LIFE", "MLP", "ALP", "IPP"), (30, 70, 80, 100))
    offset_draw, term_draw = rng.random(), rng.random()
    if code == "IPP":  # abolished in 2012: long past tariff by now, mostly
        tariff = today - dt.timedelta(days=200 + int(offset_draw * 3800))
    else:
        tariff = today + dt.timedelta(days=int(offset_draw * 6000) - 2000)
    ssd = min(tariff - dt.timedelta(days=730 + int(term_draw * 6570)), today - dt.timedelta(30))
    if code == "IPP":
        ssd = min(ssd, _IPP_ABOLISHED - dt.timedelta(days=1))
    fields = _status(code, isp=True)
    fields["sentenceStartDate"] = _iso(ssd)
    fields["tariffDate"] = _iso(tariff)
    return fields


def _recall(rng: random.Random, today: dt.date) -> dict[str, Any]:
    r = rng.random
    kind_draw, length_draw, served_draw, prrd_draw = r(), r(), r(), r()
    if kind_draw < 0.15:  # a life/IPP licensee recalled: no release date until parole
        code = "LR_LIFE" if kind_draw < 0.09 else "LR_IPP"
        tariff = today - dt.timedelta(days=200 + int(length_draw * 3000))
        ssd = tariff - dt.timedelta(days=730 + int(served_draw * 5000))
        fields = _status(code, recall=True, isp=True)
        fields["sentenceStartDate"] = _iso(ssd)
        fields["tariffDate"] = _iso(tariff)
        return fields
    months = 12 + int(length_draw * 109)
    span = int(months * _DAYS_PER_MONTH)
    custodial = span // 2
    served = custodial + 30 + int(served_draw * (span - custodial - 90))
    ssd = today - dt.timedelta(days=served)
    crd = ssd + dt.timedelta(days=custodial)
    sed = add_months(ssd, months) - dt.timedelta(days=1)
    if kind_draw < 0.55:  # fixed-term recall: out again 14 or 28 days after recall
        code = "FTR_ORA" if kind_draw < 0.45 else "14FTR_ORA"
        prrd = min(today + dt.timedelta(days=1 + int(prrd_draw * 27)), sed)
    else:
        code = _pick(rng, ("LR", "LR_ORA"))
        prrd = today + dt.timedelta(days=30 + int(prrd_draw * max(0, (sed - today).days - 30)))
    fields = _status(code, recall=True)
    fields["sentenceStartDate"] = _iso(ssd)
    fields["conditionalReleaseDate"] = _iso(crd)
    fields["postRecallReleaseDate"] = _iso(prrd)
    fields["sentenceExpiryDate"] = _iso(sed)
    fields["licenceExpiryDate"] = _iso(sed)
    if months < 24:
        fields["topupSupervisionExpiryDate"] = _iso(add_months(crd, 12))
    fields["releaseDate"] = _iso(prrd)
    return fields


def _immigration(rng: random.Random, today: dt.date) -> dict[str, Any]:
    served_draw, length_draw = rng.random(), rng.random()
    fields = _status("DET")
    if served_draw < 0.3:  # held under immigration powers after a sentence ran out
        months = 6 + int(length_draw * 30)
        sed = today - dt.timedelta(days=10 + int(served_draw * 300))
        ssd = add_months(sed + dt.timedelta(days=1), -months)
        fields["sentenceStartDate"] = _iso(ssd)
        fields["conditionalReleaseDate"] = _iso(ssd + (sed - ssd) // 2)
        fields["sentenceExpiryDate"] = _iso(sed)
    return fields


def _civil(rng: random.Random, today: dt.date) -> dict[str, Any]:
    code = _weighted(rng, ("CIVIL", "CIVIL_CON", "CIVIL_DT"), (40, 80, 100))
    length_draw, served_draw = rng.random(), rng.random()
    fields = _status(code)
    if code == "CIVIL_CON":  # committal for contempt: a fixed term, out at halfway
        months = 1 + int(length_draw * 24)
        custodial = int(months * _DAYS_PER_MONTH) // 2
        ssd = today - dt.timedelta(days=int(served_draw * max(0, custodial - 1)))
        crd = ssd + dt.timedelta(days=custodial)
        fields["sentenceStartDate"] = _iso(ssd)
        fields["conditionalReleaseDate"] = _iso(crd)
        fields["sentenceExpiryDate"] = _iso(add_months(ssd, months) - dt.timedelta(days=1))
        fields["releaseDate"] = _iso(crd)
    return fields
