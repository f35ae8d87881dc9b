"""When a prisoner entered open conditions, for the OMiC open-prison rules.

Under those rules, handover for an indeterminate-sentence prisoner starts no
later than the day they entered open conditions: life-sentenced prisoners in
open prisons are preparing for release, so the COM joins early. The rules
were rolled out in stages, which is why the date depends on the estate:

- men: arrival in a men's open prison on or after 31 March 2021;
- Welsh prisoners (probation service Wales) in HMP Prescoed (UPI): arrival
  on or after 19 October 2020, the pilot that preceded the national rollout;
- women: the day category T (open) became active while in a women's prison.

This module only decides the date from explicit inputs. Where those inputs
come from (movements, categorisation, case information) is the resolvers'
business.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

PRESCOED: Final = "UPI"
"""HMP/YOI Prescoed, the Welsh open prison that piloted the open-prison rules."""

PRESCOED_POLICY_START: Final = dt.date(2020, 10, 19)
OPEN_PRISON_POLICY_START: Final = dt.date(2021, 3, 31)

WOMENS_OPEN_CATEGORY: Final = "T"

MENS_OPEN_PRISONS: Final = frozenset(
    {
        "EHI",  # HMP Standford Hill
        "FDI",  # HMP Ford
        "HBI",  # HMP Hollesley Bay
        "HDI",  # HMP/YOI Hatfield
        "HVI",  # HMP Haverigg
        "KMI",  # HMP Kirkham
        "KVI",  # HMP Kirklevington Grange
        "LYI",  # HMP Leyhill
        "NSI",  # HMP North Sea Camp
        "SPI",  # HMP Spring Hill
        "SUI",  # HMP/YOI Sudbury
        "TCI",  # HMP/YOI Thorn Cross
        "UPI",  # HMP/YOI Prescoed
    }
)
"""Agency codes of the men's open prisons in England and Wales."""

WOMENS_PRISONS: Final = frozenset(
    {
        "AGI",  # HMP/YOI Askham Grange (open)
        "BZI",  # HMP Bronzefield
        "DHI",  # HMP/YOI Drake Hall
        "DWI",  # HMP Downview
        "ESI",  # HMP/YOI East Sutton Park (open)
        "EWI",  # HMP Eastwood Park
        "FHI",  # HMP Foston Hall
        "LNI",  # HMP Low Newton
        "NHI",  # HMP New Hall
        "PFI",  # HMP Peterborough (female)
        "SDI",  # HMP Send
        "STI",  # HMP/YOI Styal
    }
)
"""Agency codes of the women's prisons in England."""


def open_conditions_entry_date(
    *,
    prison_id: str | None,
    category: str | None,
    prison_arrival_date: dt.date | None,
    welsh_offender: bool,
    category_active_since: dt.date | None,
) -> dt.date | None:
    """The date the prisoner entered open conditions under the OMiC rules, if any.

    `prison_arrival_date` is the arrival at the *current* prison;
    `category_active_since` is when the current category became active. None
    means the open-prison rules do not apply (or the date is unknown, which
    leaves the handover start at the handover date).

    A Welsh prisoner who arrived in Prescoed before the pilot started is not
    covered by the pilot, but like any man they are covered by the general
    rule if they arrived on or after 31 March 2021.
    """
    if prison_id is None:
        return None
    if prison_id in WOMENS_PRISONS:
        return category_active_since if category == WOMENS_OPEN_CATEGORY else None
    if prison_arrival_date is None:
        return None
    if prison_id == PRESCOED and welsh_offender and prison_arrival_date >= PRESCOED_POLICY_START:
        return prison_arrival_date
    if prison_id in MENS_OPEN_PRISONS and prison_arrival_date >= OPEN_PRISON_POLICY_START:
        return prison_arrival_date
    return None
