"""How an estimator declares its settings: once, as typed class attributes, as a dataclass declares fields.

::

    class KSG(Estimator):
        k: int = setting(default=3, check=at_least(1), kw_only=False)
        variant: int = setting(default=1, check=V.ksg_variant, kw_only=False)

Each ``setting`` is a constructor keyword (positional too where ``kw_only=False``), an attribute
(``est.k``), checked when given and when assigned (a bad value raises a ValueError naming it), and an
entry of ``est.settings()``, so ``type(est)(**est.settings())`` rebuilds it. The constructor is made from
the settings of the class and its bases: ``help()`` and ``inspect.signature`` show it, and static type
checkers read it through :func:`typing.dataclass_transform` (PEP 681). A class does work after its
settings are set in ``__post_init__``, as a dataclass does, instead of writing ``__init__``.

``est.config`` is the same settings as one frozen dataclass, ``type(est).Settings``, made from the
declarations; ``type(est)(config=...)`` builds from one.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from typing import Any, ClassVar, Generic, TypeVar, cast, dataclass_transform, overload

from torch import nn

from iblearn import _checks as V

T = TypeVar("T")
Check = Callable[[Any, str], Any]


class Setting(Generic[T]):
    """A declared setting (see the module): a data descriptor over the instance's own ``__dict__``, so
    an assignment is checked as the constructor checks it."""

    def __init__(self, default: T, check: Check | None, kw_only: bool, alias: str | None) -> None:
        self.default, self.check, self.kw_only, self.alias = default, check, kw_only, alias
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @property
    def keyword(self) -> str:
        """The constructor's keyword for it (the attribute's name unless ``alias`` renames it)."""
        return self.alias or self.name

    def checked(self, value: Any) -> Any:
        return value if self.check is None else self.check(value, self.keyword)

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> Setting[T]: ...
    @overload
    def __get__(self, obj: object, owner: type | None = None) -> T: ...
    def __get__(self, obj: object | None, owner: type | None = None) -> Setting[T] | T:
        if obj is None:
            return self
        try:
            return cast(T, obj.__dict__[self.name])
        except KeyError:  # read before the constructor set it (a base class's property, say)
            return self.default

    def __set__(self, obj: Any, value: T) -> None:
        obj.__dict__[self.name] = self.checked(value)


def setting(*, default: T, check: Check | None = None, kw_only: bool = True, alias: str | None = None) -> T:
    """Declare a setting (see the module): its ``default``, the ``check(value, name)`` that returns the
    value normalized or raises a ValueError naming ``name``, whether it is keyword-only, and the
    constructor keyword where it differs from the attribute's name."""
    return cast(T, Setting(default, check, kw_only, alias))


def required(check: Check, *, kw_only: bool = False) -> Any:
    """Declare a setting without a default (positional unless ``kw_only``): the constructor refuses a
    call without it, as Python refuses a missing argument."""
    return Setting(inspect.Parameter.empty, check, kw_only, None)


def one_of(*options: Any) -> Check:
    """A check: the value must be one of ``options`` (compared by equality, booleans by identity)."""
    return lambda value, name: V.choice(value, name, options)


def at_least(minimum: int) -> Check:
    """A check: an integer (not a bool) of at least ``minimum``."""

    def check(value: Any, name: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ValueError(f"{name}: expected an integer >= {minimum}, got {value!r}")
        return value

    return check


def optional(check: Check) -> Check:
    """A check: None, or a value that passes ``check``."""
    return lambda value, name: None if value is None else check(value, name)


@dataclass_transform(kw_only_default=True, field_specifiers=(setting,))
class Configured:
    """The base that makes a class's constructor from its declared settings (see the module).

    A subclass lists the settings it fixes itself (not constructor keywords, e.g. MINE-f's objective)
    in ``fixed``, with their values; or, where it takes few of the settings it inherits, names those it
    takes in ``keywords`` (the others keep their defaults).
    """

    #: Settings the class sets itself or has no use for, with their values: not among its keywords.
    fixed: ClassVar[dict[str, Any]] = {}
    #: The settings the class takes (attribute names, space-separated, in the constructor's order), where
    #: not all it declares and inherits; None: all.
    keywords: ClassVar[str | None] = None
    #: Every declared setting of the class and its bases, by attribute name, in the constructor's order.
    declared: ClassVar[dict[str, Setting[Any]]] = {}
    #: The settings as one frozen dataclass (``est.config``).
    Settings: ClassVar[type]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        found: dict[str, Setting[Any]] = {}
        for klass in reversed(cls.__mro__):
            found.update((n, v) for n, v in vars(klass).items() if isinstance(v, Setting))
        # As a dataclass orders its __init__: positional settings first, each group in declaration order
        # (the bases' before the class's, or that of ``keywords``); ``base``, every estimator's, last.
        taken = list(found) if cls.keywords is None else cls.keywords.split()
        order = sorted(taken, key=lambda n: (found[n].kw_only, n == "base"))
        cls.declared = {n: found[n] for n in order if n not in cls.fixed}
        cls.fixed = {**{n: s.default for n, s in found.items() if n not in taken}, **cls.fixed}
        P = inspect.Parameter
        params = [
            P(s.keyword, P.KEYWORD_ONLY if s.kw_only else P.POSITIONAL_OR_KEYWORD, default=s.default)
            for s in cls.declared.values()
        ]
        cls.__signature__ = inspect.Signature([*params, P("config", P.KEYWORD_ONLY, default=None)])  # type: ignore[attr-defined]
        fields = [
            (
                s.keyword,
                Any,
                dataclasses.field() if s.default is P.empty else dataclasses.field(default=s.default),
            )
            for s in cls.declared.values()
        ]
        name = f"{cls.__name__}Settings"
        cls.Settings = dataclasses.make_dataclass(name, fields, frozen=True, kw_only=True)
        cls.Settings.__module__ = cls.__module__

    def __init__(self, *args: Any, config: Any = None, **kwargs: Any) -> None:
        super().__init__()
        cls = type(self)
        if config is not None:
            if args or kwargs:
                raise TypeError(f"{cls.__name__}(): pass the settings as keywords or as config, not both")
            kwargs = {f.name: getattr(config, f.name) for f in dataclasses.fields(config)}
        given = inspect.signature(cls).bind(*args, **kwargs).arguments  # TypeError as Python's own
        for name, declared in cls.declared.items():  # past nn.Module's setattr: a network is a value here
            self.__dict__[name] = declared.checked(given.get(declared.keyword, declared.default))
        for name, value in cls.fixed.items():
            self.__dict__[name] = value
        self.__post_init__()

    def __post_init__(self) -> None:
        """Work done once the settings are set (checks across settings, building networks)."""

    @property
    def config(self) -> Any:
        """The settings as one frozen dataclass, ``type(self).Settings`` (a network given included)."""
        return type(self).Settings(**self._given())

    def settings(self) -> dict[str, Any]:
        """Constructor keyword arguments that rebuild an equivalent estimator, for records and configs:
        ``type(est)(**est.settings())``. A network handed to the constructor (a user's critic, AA-MINE's
        sub-network, DGI's encoder) is not a setting and cannot be rebuilt from a record: pass it again."""
        return {k: v for k, v in self._given().items() if not (isinstance(v, nn.Module) or callable(v))}

    def _given(self) -> dict[str, Any]:
        return {s.keyword: getattr(self, n) for n, s in type(self).declared.items()}
