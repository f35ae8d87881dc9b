"""Reference data the sandbox draws from: real prison codes, courts, names.

Real agency codes and names matter because newcomers recognise them and
because some domain rules key on them (Prescoed, UPI, is the Welsh open
prison of the open-prison handover rule; women's estates use other
categories). Codes not listed here still work: they get a neutral name, so
the benchmark can ask for any number of prisons.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Estate = Literal["local", "training", "high_security", "open", "yoi"]


@dataclass(frozen=True, slots=True)
class PrisonInfo:
    """What the sandbox needs to know about one prison to generate plausible people."""

    code: str
    name: str
    estate: Estate
    female: bool = False
    welsh: bool = False


_KNOWN: tuple[PrisonInfo, ...] = (
    PrisonInfo("LEI", "HMP Leeds", "local"),
    PrisonInfo("MDI", "HMP Moorland", "training"),
    PrisonInfo("BXI", "HMP Brixton", "training"),
    PrisonInfo("UPI", "HMP Prescoed", "open", welsh=True),
    PrisonInfo("CFI", "HMP Cardiff", "local", welsh=True),
    PrisonInfo("SWI", "HMP Swansea", "local", welsh=True),
    PrisonInfo("BWI", "HMP Berwyn", "training", welsh=True),
    PrisonInfo("WWI", "HMP Wandsworth", "local"),
    PrisonInfo("PVI", "HMP Pentonville", "local"),
    PrisonInfo("BMI", "HMP Birmingham", "local"),
    PrisonInfo("LPI", "HMP Liverpool", "local"),
    PrisonInfo("DMI", "HMP Durham", "local"),
    PrisonInfo("NMI", "HMP Nottingham", "local"),
    PrisonInfo("BAI", "HMP Belmarsh", "local"),
    PrisonInfo("HOI", "HMP High Down", "local"),
    PrisonInfo("MRI", "HMP Manchester", "high_security"),
    PrisonInfo("WDI", "HMP Wakefield", "high_security"),
    PrisonInfo("FKI", "HMP Frankland", "high_security"),
    PrisonInfo("WLI", "HMP Wayland", "training"),
    PrisonInfo("RSI", "HMP Risley", "training"),
    PrisonInfo("SPI", "HMP Spring Hill", "open"),
    PrisonInfo("LYI", "HMP Leyhill", "open"),
    PrisonInfo("FDI", "HMP Ford", "open"),
    PrisonInfo("WYI", "HMYOI Wetherby", "yoi"),
    PrisonInfo("NHI", "HMP New Hall", "local", female=True),
    PrisonInfo("LNI", "HMP Low Newton", "local", female=True),
    PrisonInfo("BZI", "HMP Bronzefield", "local", female=True),
    PrisonInfo("DWI", "HMP Downview", "training", female=True),
    PrisonInfo("STI", "HMP Styal", "local", female=True),
    PrisonInfo("FHI", "HMP Foston Hall", "local", female=True),
    PrisonInfo("EWI", "HMP Eastwood Park", "local", female=True),
    PrisonInfo("ESI", "HMP East Sutton Park", "open", female=True),
    PrisonInfo("AGI", "HMP Askham Grange", "open", female=True),
)

KNOWN_PRISONS: dict[str, PrisonInfo] = {p.code: p for p in _KNOWN}
"""Real prisons the sandbox knows by code."""

COURTS: dict[str, str] = {
    "LEEDCC": "Leeds Crown Court",
    "LEEDMC": "Leeds Magistrates Court",
    "SHEFCC": "Sheffield Crown Court",
    "DONCMC": "Doncaster Magistrates Court",
    "SWRKCC": "Southwark Crown Court",
    "CAMBMC": "Camberwell Green Magistrates Court",
    "BRUMCC": "Birmingham Crown Court",
    "CARDCC": "Cardiff Crown Court",
}
"""Sandbox court agencies (agencyType CRT) used as admission/court movement ends."""

_PRISON_CODE = re.compile(r"^[A-Z]{3}$")


def prison_info(code: str) -> PrisonInfo:
    """The prison for `code`; unknown (but well-formed) codes get a neutral training prison."""
    if not _PRISON_CODE.fullmatch(code):
        raise ValueError(f"prison code must be three capital letters, got {code!r}")
    return KNOWN_PRISONS.get(code) or PrisonInfo(code, f"HMP Sandbox {code}", "training")


# fmt: off
MALE_FIRST_NAMES: tuple[str, ...] = (
    "James", "John", "Robert", "Michael", "David", "William", "Richard", "Thomas",
    "Mark", "Paul", "Steven", "Andrew", "Kevin", "Daniel", "Christopher", "Gary",
    "Anthony", "Matthew", "Jason", "Lee", "Craig", "Darren", "Wayne", "Dean",
    "Scott", "Shaun", "Ryan", "Jamie", "Liam", "Connor", "Callum", "Kieran",
    "Jordan", "Nathan", "Adam", "Luke", "Joshua", "Jack", "Harry", "Oliver",
    "George", "Charlie", "Alfie", "Tyler", "Reece", "Bradley", "Aaron", "Ben",
    "Carl", "Stuart", "Neil", "Ian", "Simon", "Peter", "Martin", "Graham",
    "Keith", "Barry", "Terry", "Dale", "Gareth", "Rhys", "Dylan", "Owen",
    "Mohammed", "Ahmed", "Imran", "Tariq", "Kwame", "Tunde", "Marcus", "Leon",
    "Tomasz", "Piotr", "Andrei", "Florin", "Sean", "Declan", "Ciaran", "Fraser",
)

FEMALE_FIRST_NAMES: tuple[str, ...] = (
    "Sarah", "Emma", "Claire", "Lisa", "Michelle", "Kelly", "Nicola", "Rebecca",
    "Laura", "Gemma", "Amy", "Danielle", "Stacey", "Leanne", "Joanne", "Rachel",
    "Hannah", "Chloe", "Jade", "Shannon", "Megan", "Sophie", "Charlotte", "Katie",
    "Louise", "Helen", "Karen", "Julie", "Tracey", "Donna", "Amanda", "Natalie",
    "Fatima", "Aisha", "Zara", "Priya", "Siobhan", "Bethan", "Ffion", "Cerys",
)

SURNAMES: tuple[str, ...] = (
    "Smith", "Jones", "Williams", "Taylor", "Brown", "Davies", "Evans", "Wilson",
    "Thomas", "Johnson", "Roberts", "Robinson", "Thompson", "Wright", "Walker",
    "White", "Edwards", "Hughes", "Green", "Hall", "Lewis", "Harris", "Clarke",
    "Patel", "Jackson", "Wood", "Turner", "Martin", "Cooper", "Hill", "Ward",
    "Morris", "Moore", "Clark", "Lee", "King", "Baker", "Harrison", "Morgan",
    "Allen", "James", "Scott", "Phillips", "Watson", "Davis", "Parker", "Price",
    "Bennett", "Young", "Griffiths", "Mitchell", "Kelly", "Cook", "Carter",
    "Richardson", "Bailey", "Collins", "Bell", "Shaw", "Murphy", "Miller",
    "Cox", "Richards", "Khan", "Marshall", "Anderson", "Simpson", "Ellis",
    "Adams", "Singh", "Begum", "Wilkinson", "Foster", "Chapman", "Powell",
    "Webb", "Rogers", "Gray", "Mason", "Ali", "Hunt", "Hussain", "Campbell",
    "Matthews", "Owen", "Palmer", "Holmes", "Mills", "Barnes", "Knight", "Lloyd",
    "Butler", "Russell", "Barker", "Fisher", "Stevens", "Jenkins", "Murray",
    "Dixon", "Harvey", "Graham", "Pearson", "Ahmed", "Fletcher", "Walsh",
    "Kaur", "Gibson", "Howard", "Andrews", "Stewart", "Elliott", "Reynolds",
    "Saunders", "Payne", "Fox", "Ford", "Pearce", "Day", "Brooks", "West",
    "Lawrence", "Cole", "Atkinson", "Bradley", "Spencer", "Gill", "Dawson",
    "Ball", "Burton", "O'Brien", "Watts", "Rose", "Booth", "Perry", "Ryan",
    "Nowak", "Kowalski", "Popescu", "Okafor", "Mensah", "Ahmed-Khan", "McDonald",
)
# fmt: on
