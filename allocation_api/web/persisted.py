"""Automatic persisted queries (Apollo's `extensions.persistedQuery` convention).

A client sends `{"version": 1, "sha256Hash": "<hex>"}` alone; when the hash is
known the document it stands for runs, else the answer is the
`PERSISTED_QUERY_NOT_FOUND` error and the client sends the query with the
hash once, which stores it. The store is per process and bounded (an LRU of
`apq_cache_size` documents): a replica that has not seen a hash, or has
evicted it, costs the client one resend, so nothing needs sharing. Only
documents that passed validation are stored; the text is kept (the schema's
own parse and validation caches key on it), and every persisted request runs
through the same limits and cost model as any other.
"""

from __future__ import annotations

from collections import OrderedDict


class PersistedQueries:
    """Documents by the SHA-256 of their text, least recently used evicted first."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._documents: OrderedDict[str, str] = OrderedDict()

    def get(self, digest: str) -> str | None:
        document = self._documents.get(digest)
        if document is not None:
            self._documents.move_to_end(digest)
        return document

    def put(self, digest: str, document: str) -> None:
        if self.size == 0:
            return
        self._documents[digest] = document
        self._documents.move_to_end(digest)
        while len(self._documents) > self.size:
            self._documents.popitem(last=False)

    def __len__(self) -> int:
        return len(self._documents)
