"""Bridges: which legs hear each other, and which are linked. One relation, one owner.

A bridge is an unordered pair of legs whose audio is connected both ways; a *linked*
bridge also carries the worker's hang-up policy: when either leg ends, the worker
hangs up the other (``remove`` returns whom to hang up). The relation is kept here
only -- legs ask it for their peers, never keep a copy -- so no edit can leave one
side of a pair behind. Each direction of a bridge may be muted (``mix``): the mix
matrix of hold and supervisor monitoring (``mixing.py``). Pure: no pjsua2, unit-tested.
"""

from __future__ import annotations


class Bridges:
    def __init__(self) -> None:
        self._pairs: dict[str, dict[str, bool]] = {}  # leg -> {peer: linked}, symmetric
        self._deaf: set[tuple[str, str]] = set()  # (listener, source) of muted directions

    def join(
        self, a: str, b: str, linked: bool, a_hears_b: bool = True, b_hears_a: bool = True
    ) -> None:
        """Bridge ``a`` and ``b`` (again: the new ``linked`` and directions win)."""
        if a == b:
            raise ValueError("a leg cannot be bridged to itself")
        self._pairs.setdefault(a, {})[b] = linked
        self._pairs.setdefault(b, {})[a] = linked
        self.mix(a, b, a_hears_b, b_hears_a)

    def mix(self, a: str, b: str, a_hears_b: bool, b_hears_a: bool) -> bool:
        """Set which way the audio of the bridge flows; False if there is no bridge."""
        if b not in self._pairs.get(a, {}):
            return False
        for listener, source, on in ((a, b, a_hears_b), (b, a, b_hears_a)):
            if on:
                self._deaf.discard((listener, source))
            else:
                self._deaf.add((listener, source))
        return True

    def hears(self, listener: str, source: str) -> bool:
        """Whether ``listener`` hears ``source`` (they must be bridged)."""
        return source in self._pairs.get(listener, {}) and (listener, source) not in self._deaf

    def split(self, a: str, b: str) -> bool:
        """Remove the bridge between ``a`` and ``b``; False if there was none."""
        found = self._drop(a, b)
        self._drop(b, a)
        self._deaf -= {(a, b), (b, a)}
        return found

    def peers(self, leg: str) -> list[str]:
        """The legs bridged with ``leg``, in the order they were bridged."""
        return list(self._pairs.get(leg, ()))

    def remove(self, leg: str) -> list[str]:
        """``leg`` ended: drop all its bridges; return the linked peers to hang up."""
        peers = self._pairs.pop(leg, {})
        for peer in peers:
            self._drop(peer, leg)
            self._deaf -= {(leg, peer), (peer, leg)}
        return [peer for peer, linked in peers.items() if linked]

    def _drop(self, a: str, b: str) -> bool:
        peers = self._pairs.get(a)
        if peers is None or b not in peers:
            return False
        del peers[b]
        if not peers:
            del self._pairs[a]
        return True
