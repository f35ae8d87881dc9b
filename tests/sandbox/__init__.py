"""Tests of the sandbox: the fake upstreams and their control API."""
