"""Kubernetes quantities ("500m", "1Gi", "1e3"): reading them, writing them as kube-apiserver stores
them, and where built-in kinds hold them.

kube-apiserver parses every quantity it is sent and stores it in canonical form (apimachinery
`resource.Quantity`): "1000m" is stored as "1", "1024Mi" as "1Gi", "0.5" as "500m". A copy that states
a quantity in another form (a modifier wrote it so) reads back rewritten, and is the same quantity;
the server compares quantities by value when it decides what an update changes. So comparisons of a
copy with what the destination holds make every quantity comparable first (`comparable_quantities`),
and the simulator stores them as kube-apiserver does (`canonical_quantities`).
"""

from __future__ import annotations

import decimal
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import Any, Protocol

_BINARY = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}  # powers of 1024
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_DECIMAL_SUFFIX = {exponent: suffix for suffix, exponent in _DECIMAL.items()}
_BINARY_SUFFIX = {0: "", **{power: suffix for suffix, power in _BINARY.items()}}
_QUANTITY = re.compile(r"([+-]?)0*([0-9]*)(?:\.([0-9]*))?(?:([eE][+-]?[0-9]+)|([a-zA-Z]*))", re.ASCII)
# room for the largest quantities with a billionth's precision (the default context keeps 28 digits)
_CONTEXT = decimal.Context(prec=100, traps=[decimal.InvalidOperation])

NANO, MILLI = -9, -3  # the scales kube-apiserver rounds quantities up to: every one, a ResourceList's
_BINARY_SI, _DECIMAL_SI, _DECIMAL_EXPONENT = "BinarySI", "DecimalSI", "DecimalExponent"


@dataclass(frozen=True)
class _Written:
    """A quantity as written: its number, format, and (when apimachinery keeps the text it was given,
    for a form it takes as canonical already) the scale of that text."""

    text: str
    number: Decimal
    form: str
    kept_scale: int | None


def _read(value: Any) -> _Written | None:
    """`value` read as apimachinery's ParseQuantity reads it, or None when it is no quantity."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    text = str(value).strip()
    match = _QUANTITY.fullmatch(text)
    if match is None or not text:
        return None
    sign, whole, fraction, exponent, suffix = match.groups()
    whole, fraction = whole or "0", fraction or ""
    try:
        number = _CONTEXT.create_decimal(f"{sign}{whole}.{fraction or '0'}")
        if exponent:
            form, scale = _DECIMAL_EXPONENT, int(exponent[1:])
            number = number.scaleb(scale, _CONTEXT)
        elif suffix in _BINARY:
            form, scale = _BINARY_SI, 0
            number = _CONTEXT.multiply(number, Decimal(1024) ** _BINARY[suffix])
        elif suffix in _DECIMAL:
            form, scale = _DECIMAL_SI, _DECIMAL[suffix]
            number = number.scaleb(scale, _CONTEXT)
        else:
            return None
    except decimal.InvalidOperation:
        return None
    return _Written(text, number, form, _kept_scale(whole, fraction, form, scale, suffix))


def _kept_scale(whole: str, fraction: str, form: str, scale: int, suffix: str) -> int | None:
    """The scale of a quantity whose text apimachinery keeps as it was given (ParseQuantity's fast
    path, "if the number is in canonical form, reuse the string"), None when it writes it anew."""
    digits = whole + fraction
    if form == _BINARY_SI:
        power = _BINARY[suffix] * 10
        if fraction or 15 - len(whole) - int(power * 3 / 10) - 1 < 0:
            return None
        small = int(whole) * 2**power < 2**63
        return 0 if small and int(whole) & 0x07 else None
    scale -= len(fraction)
    if 18 - len(digits) < 0 or scale < NANO:
        return None
    if scale % 3 == 0 and not digits.endswith("000") and digits[0] != "0":
        return scale
    return None


def parse_quantity(value: Any) -> Decimal | None:
    """A Kubernetes resource quantity ("10Gi", "500M", "1e3", 2) as a number, or None if unreadable."""
    written = _read(value)
    return written.number if written is not None else None


def _rounded(number: Decimal, scale: int) -> Decimal:
    """Rounded up, away from zero, to `scale` (a power of ten), as kube-apiserver keeps quantities."""
    return number.quantize(Decimal(1).scaleb(scale), rounding=decimal.ROUND_UP, context=_CONTEXT)


def _written(number: Decimal, form: str) -> str | None:
    """`number` written in canonical form for `form` (apimachinery Quantity.CanonicalizeBytes): no
    fractional digits, the largest suffix (or exponent, a multiple of 3) that loses nothing; None for
    what no suffix expresses (beyond E)."""
    if number == 0:
        return "0"
    if form == _BINARY_SI:
        # below 1024, and for fractions, a binary suffix says nothing more: written DecimalSI
        if abs(number) < 1024 or number != number.to_integral_value():
            form = _DECIMAL_SI
        else:
            mantissa, power = int(number), 0
            while abs(mantissa) >= 1024 and mantissa % 1024 == 0:
                mantissa, power = mantissa // 1024, power + 1
            return f"{mantissa}{_BINARY_SUFFIX[power]}" if power in _BINARY_SUFFIX else None
    sign, digits, exponent = number.normalize(_CONTEXT).as_tuple()
    assert isinstance(exponent, int)
    mantissa = int("".join(map(str, digits))) * (-1 if sign else 1)
    shift = exponent % 3  # down to a multiple of 3: 1.5 is 1500m
    mantissa, exponent = mantissa * 10**shift, exponent - shift
    if form == _DECIMAL_EXPONENT:
        return f"{mantissa}e{exponent}" if exponent else str(mantissa)
    suffix = _DECIMAL_SUFFIX.get(exponent)
    return None if suffix is None else f"{mantissa}{suffix}"


def canonical_quantity(value: Any, scale: int = NANO) -> str | None:
    """`value` as kube-apiserver stores it in a field rounded up to `scale` (`NANO`, or `MILLI` for a
    ResourceList: requests, limits): "1000m" → "1", "1024Mi" → "1Gi", "0.5" → "500m", "1.5Gi" →
    "1536Mi", 2 → "2"; text it takes as canonical already is kept as given ("+1", "1E3"). None when
    `value` is no quantity, or one this does not write."""
    written = _read(value)
    if written is None:
        return None
    if written.text == "0" or (written.kept_scale is not None and written.kept_scale >= scale):
        return written.text
    return _written(_rounded(written.number, scale), written.form)


def quantity_key(value: Any, scale: int = NANO) -> str | None:
    """A string that two quantities in a field rounded up to `scale` share exactly when
    kube-apiserver holds them equal ("1Gi", "1024Mi" and "1073741824" alike), whatever form each was
    written in; None when `value` is no quantity."""
    written = _read(value)
    if written is None:
        return None
    number = _rounded(written.number, scale)
    # the shorter of its canonical forms, which depends on the number alone
    forms = [_written(number, form) for form in (_DECIMAL_SI, _BINARY_SI, _DECIMAL_EXPONENT)]
    return min((f for f in forms if f is not None), key=len)


# -- where built-in kinds hold quantities -----------------------------------------------------------

# dotted paths; `*` is every item of a list, or every value of a map. A path ending in `*` is a
# ResourceList (requests, limits, overhead), whose values kube-apiserver also rounds up to a
# thousandth (SetDefaults_ResourceList); the others are single quantities.
_CLAIM_SPEC = ("resources.requests.*", "resources.limits.*")
_POD_SPEC = (
    *(
        f"{containers}.*.{field}"
        for containers in ("containers", "initContainers", "ephemeralContainers")
        for field in (
            "resources.requests.*",
            "resources.limits.*",
            "env.*.valueFrom.resourceFieldRef.divisor",
        )
    ),
    "resources.requests.*",
    "resources.limits.*",
    "overhead.*",
    "volumes.*.emptyDir.sizeLimit",
    *(f"volumes.*.ephemeral.volumeClaimTemplate.spec.{path}" for path in _CLAIM_SPEC),
    "volumes.*.downwardAPI.items.*.resourceFieldRef.divisor",
    "volumes.*.projected.sources.*.downwardAPI.items.*.resourceFieldRef.divisor",
)


def _under(prefix: str, paths: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(f"{prefix}.{path}" for path in paths)


_TEMPLATE = _under("spec.template.spec", _POD_SPEC)
QUANTITY_PATHS: dict[tuple[str, str], tuple[str, ...]] = {
    ("", "Pod"): _under("spec", _POD_SPEC),
    ("", "PodTemplate"): _under("template.spec", _POD_SPEC),
    ("", "ReplicationController"): _TEMPLATE,
    ("", "PersistentVolumeClaim"): _under("spec", _CLAIM_SPEC),
    ("apps", "Deployment"): _TEMPLATE,
    ("apps", "ReplicaSet"): _TEMPLATE,
    ("apps", "DaemonSet"): _TEMPLATE,
    ("apps", "StatefulSet"): (*_TEMPLATE, *_under("spec.volumeClaimTemplates.*.spec", _CLAIM_SPEC)),
    ("batch", "Job"): _TEMPLATE,
    ("batch", "CronJob"): _under("spec.jobTemplate.spec.template.spec", _POD_SPEC),
}


class _Rewrite(Protocol):
    def __call__(self, value: Any, scale: int = NANO) -> str | None: ...


def _rewritten(value: Any, parts: list[str], rewrite: Callable[[Any], str | None]) -> Any:
    """`value` with what `parts` leads to rewritten; `value` itself when nothing changed."""
    if not parts:
        new = rewrite(value)
        return value if new is None or new == value else new
    head, rest = parts[0], parts[1:]
    if head == "*" and isinstance(value, list):
        items = [_rewritten(item, rest, rewrite) for item in value]
        return value if all(a is b for a, b in zip(items, value, strict=True)) else items
    if not isinstance(value, Mapping):
        return value
    keys = list(value) if head == "*" else [head] if head in value else []
    changed = {k: new for k in keys if (new := _rewritten(value[k], rest, rewrite)) is not value[k]}
    return {**value, **changed} if changed else value


def _with_quantities(obj: Mapping[str, Any], group: str, kind: str, rewrite: _Rewrite) -> Any:
    for path in QUANTITY_PATHS.get((group, kind), ()):
        scale = MILLI if path.endswith(".*") else NANO
        obj = _rewritten(obj, path.split("."), partial(rewrite, scale=scale))
    return obj


def canonical_quantities(obj: Mapping[str, Any], group: str, kind: str) -> Any:
    """`obj` (of kind `group`/`kind`) with the quantities of its pod spec and claim specs written as
    kube-apiserver stores them (`canonical_quantity`); `obj` itself when they already are, or the
    kind holds none. Values that are no quantity are left as they are. `obj` is not modified."""
    return _with_quantities(obj, group, kind, canonical_quantity)


def comparable_quantities(obj: Mapping[str, Any], group: str, kind: str) -> Any:
    """`obj` with each quantity of its pod spec and claim specs written as its `quantity_key`, so that
    two objects compare equal where kube-apiserver holds them equal. `obj` is not modified."""
    return _with_quantities(obj, group, kind, quantity_key)


__all__ = [
    "MILLI",
    "NANO",
    "QUANTITY_PATHS",
    "canonical_quantities",
    "canonical_quantity",
    "comparable_quantities",
    "parse_quantity",
    "quantity_key",
]
