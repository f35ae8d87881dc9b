"""Write use cases: (command, unit of work, upstreams, actor) -> changed rows.

Each command is a frozen dataclass of already-parsed values; its function
reads the facts the rules need, checks them and writes in one transaction
(`unit_of_work.py`), raising a typed `DomainError` (`allocation_api/errors.py`)
for an expected refusal. Nothing here knows GraphQL: the schema turns inputs
into commands and errors into payload members.
"""
