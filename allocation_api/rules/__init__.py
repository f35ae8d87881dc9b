"""The prison rules (OMiC) as pure functions: no I/O, no upstream or store types.

One module per rule family: `dates` (calendar arithmetic), `facts` (the
prisoner shape the rules read), `eligibility`, `pom_type`, `override`,
`release_date`, `open_prison`, `responsibility`, `handover`,
`early_allocation` and `caseload`. Resolvers gather the facts and call these.
"""
