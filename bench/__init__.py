"""The benchmark harness of the Allocation API (`python -m bench`; not run by CI).

One command starts the sandbox upstreams and the API in two separate
processes (so the API's CPU time is its own), seeds a large prison through
the API, puts a bounded load on loopback for each measured operation, and
compares the server's CPU per `prisonPage` with graphql-core executing the
same query over the same data in memory. See bench/README.md.
"""
