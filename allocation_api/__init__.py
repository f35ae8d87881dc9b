"""Allocation API: a GraphQL gateway for allocating Prison Offender Managers."""

__version__ = "0.1.0"
