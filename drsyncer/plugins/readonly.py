"""Deep read-only views of an object dict, for the filter hooks: they read the source object itself.

A filter gets `view(obj)`: a `Mapping` whose nested objects are read-only `Mapping`s and whose lists
are read-only `Sequence`s, made as the filter reads them. Nothing is copied, so a filter that reads
a label costs well under a microsecond; a deep copy of a 1 KiB ConfigMap costs 15 µs (`copy.deepcopy`)
per object per destination. Changing a value raises `TypeError` (the object's failure, naming the
plugin) rather than changing the source object and so every copy written from it.

A view compares equal to the dict or list it shows; `copy.deepcopy` of one is a plain, mutable
dict or list. `json.dumps` does not take one (nor did the `MappingProxyType` filters got before).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, overload


def view(value: Any) -> Any:
    """`value` read-only: a dict as a `ReadOnlyDict`, a list or tuple as a `ReadOnlyList`, others as
    they are (str, numbers, None and bool cannot be changed)."""
    if isinstance(value, dict):
        return ReadOnlyDict(value)
    if isinstance(value, list | tuple):
        return ReadOnlyList(value)
    return value


def _shown(value: Any) -> Any:
    return value._data if isinstance(value, ReadOnlyDict | ReadOnlyList) else value


class ReadOnlyDict(Mapping[str, Any]):
    """A dict that cannot be changed through this view, nor through what it hands out."""

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[str, Any]) -> None:
        self._data = data

    def __getitem__(self, key: str) -> Any:
        return view(self._data[key])

    def get(self, key: str, default: Any = None) -> Any:
        return view(self._data.get(key, default))

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __eq__(self, other: object) -> bool:
        return bool(self._data == _shown(other))

    __hash__ = None  # type: ignore[assignment]  # as a dict's

    def __repr__(self) -> str:
        return repr(self._data)

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        return copy.deepcopy(self._data, memo)


class ReadOnlyList(Sequence[Any]):
    """A list that cannot be changed through this view, nor through what it hands out."""

    __slots__ = ("_data",)

    def __init__(self, data: Sequence[Any]) -> None:
        self._data = data

    @overload
    def __getitem__(self, index: int) -> Any: ...
    @overload
    def __getitem__(self, index: slice) -> ReadOnlyList: ...
    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return ReadOnlyList(self._data[index])
        return view(self._data[index])

    def __iter__(self) -> Iterator[Any]:
        return map(view, self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, value: object) -> bool:
        return _shown(value) in self._data

    def __eq__(self, other: object) -> bool:
        return bool(self._data == _shown(other))

    __hash__ = None  # type: ignore[assignment]  # as a list's

    def __repr__(self) -> str:
        return repr(self._data)

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        return copy.deepcopy(self._data, memo)
