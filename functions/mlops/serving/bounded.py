"""A least-recently-used cache with a bound on entries and on their total weight.

A warm serving Lambda lives for hours and sees every model and version that ever served; its
caches (onnxruntime sessions, record schemas, routing) must not grow with that history, nor with
requests for names that do not exist. Standard library only: the data plane stays lean.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class BoundedCache(Generic[K, V]):
    def __init__(self, max_items: int, max_weight: int | None = None) -> None:
        self.max_items, self.max_weight = max_items, max_weight
        self._entries: OrderedDict[K, tuple[V, int]] = OrderedDict()
        self._weight = 0
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                return None
            self._entries.move_to_end(key)
            return found[0]

    def put(self, key: K, value: V, weight: int = 1) -> None:
        """Adds or replaces; then the least recently used go until both bounds hold (the newest
        entry always stays, even alone over the weight bound: it is the one being used)."""
        with self._lock:
            if key in self._entries:
                self._weight -= self._entries.pop(key)[1]
            self._entries[key] = (value, weight)
            self._weight += weight
            while len(self._entries) > 1 and (
                len(self._entries) > self.max_items or (self.max_weight is not None and self._weight > self.max_weight)
            ):
                _, (_, dropped) = self._entries.popitem(last=False)
                self._weight -= dropped

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._weight = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def weight(self) -> int:
        return self._weight
