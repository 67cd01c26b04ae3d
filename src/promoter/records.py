"""Records: promoter's plain data classes, made without the start-up cost of `dataclasses`.

`dataclasses` writes each class's methods as source text and compiles it when the class is
defined: about 0.7 ms a class on this project's machines, plus 5 ms to import it (it imports
`inspect`): 20 of the 60 ms `promote` spent importing (48 classes on its path; see
bench/README.md). A record is the same contract with the methods made once, here, as closures:

    @record(frozen=True)
    class Target:
        name: str
        files: list[str] = field(default_factory=list)
        note: str = field(default="", repr=False, compare=False)

Fields are the class's annotations in order, a base record's first. `__init__` takes them by
position or by keyword (a default or a `default_factory` makes one optional; `init=False` leaves
one to `__post_init__`, which runs last when the class defines it), `__repr__` and `__eq__` use
the fields (less those with `repr=False` / `compare=False`), `eq=False` keeps identity, and
`frozen=True` refuses assignment and gives a `__hash__`. mypy reads a record as a dataclass
(PEP 681). A record made `_HOT` times in one run gets its `__init__` compiled as dataclasses
compile theirs (twice as quick): the classes a command makes by the thousand pay for it, not
the dozens its start-up defines. Not provided, because nothing here uses them: ordering, slots, keyword-only fields,
`InitVar`/`ClassVar` annotations, `asdict`.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter

TYPE_CHECKING = False  # typing is not imported at run time: a command's start-up is counted (bench/)
if TYPE_CHECKING:
    from typing import Any, TypeVar, dataclass_transform, overload

    T = TypeVar("T")
    C = TypeVar("C", bound=type)

_MISSING: Any = object()


class FrozenRecordError(AttributeError):
    """Assignment to a field of a frozen record."""


class Field:
    __slots__ = ("compare", "default", "factory", "init", "name", "repr")

    def __init__(self, default: Any, factory: Callable[[], Any] | None, init: bool, repr: bool, compare: bool) -> None:
        self.name = ""
        self.default = default
        self.factory = factory
        self.init = init
        self.repr = repr
        self.compare = compare


if TYPE_CHECKING:  # what the type checker reads: a record is a dataclass (PEP 681); the
    # implementations are the `else:` branch's, which run (typing itself is never imported)

    @overload  # type: ignore[no-overload-impl]
    def field(*, default: T, init: bool = True, repr: bool = True, compare: bool = True) -> T: ...
    @overload
    def field(*, default_factory: Callable[[], T], init: bool = True, repr: bool = True, compare: bool = True) -> T: ...
    @overload
    def field(*, init: bool = True, repr: bool = True, compare: bool = True) -> Any: ...
    @overload  # type: ignore[no-overload-impl]
    @dataclass_transform(field_specifiers=(field, Field))
    def record(cls: C, /) -> C: ...
    @overload
    def record(*, frozen: bool = False, eq: bool = True) -> Callable[[C], C]: ...

else:

    def field(
        *,
        default: Any = _MISSING,
        default_factory: Callable[[], Any] | None = None,
        init: bool = True,
        repr: bool = True,
        compare: bool = True,
    ) -> Any:
        """How one field behaves, beyond its annotation (the arguments of `dataclasses.field`)."""
        if default is not _MISSING and default_factory is not None:
            raise ValueError("a field takes a default or a default_factory, not both")
        return Field(default, default_factory, init, repr, compare)

    def record(cls: Any = None, /, *, frozen: bool = False, eq: bool = True) -> Any:
        """Make `cls` a record (see the module's docstring)."""

        def wrap(cls: type) -> type:
            _build(cls, frozen, eq)
            return cls

        return wrap if cls is None else wrap(cls)


def fields(cls_or_record: Any) -> tuple[Field, ...]:
    """The fields of a record class or instance, in order."""
    got: tuple[Field, ...] = cls_or_record.__record_fields__
    return got


def replace(obj: T, /, **changes: Any) -> T:
    """A copy of the record `obj` with `changes` (field names to new values)."""
    own = fields(obj)
    unknown = set(changes) - {f.name for f in own}
    if unknown:
        raise TypeError(f"{type(obj).__name__} has no field {', '.join(sorted(unknown))}")
    for f in own:
        if f.init and f.name not in changes:
            changes[f.name] = getattr(obj, f.name)
        elif not f.init and f.name in changes:
            raise TypeError(f"field {f.name} of {type(obj).__name__} is not set by __init__")
    made: T = type(obj)(**changes)
    return made


def _build(cls: type, frozen: bool, eq: bool) -> None:
    found: dict[str, Field] = {}
    for base in reversed(cls.__mro__[1:]):
        for f in getattr(base, "__record_fields__", ()):
            found[f.name] = f
    annotations = cls.__dict__.get("__annotations__")  # noqa: RUF063 - inspect is what this module avoids
    if annotations is None:  # Python 3.14 makes them on demand (PEP 649)
        annotations = cls.__annotations__ if "__annotate__" in cls.__dict__ else {}
    for name, annotation in annotations.items():
        if any(kind in str(annotation) for kind in ("ClassVar", "InitVar")):
            raise TypeError(f"{cls.__name__}.{name}: a record has no ClassVar or InitVar fields; define it outside")
        value = cls.__dict__.get(name, _MISSING)
        f = value if isinstance(value, Field) else Field(value, None, True, True, True)
        f.name = name
        if isinstance(f.default, list | dict | set):
            raise ValueError(f"{cls.__name__}.{name}: a mutable default is shared; use field(default_factory=...)")
        found[name] = f
        if isinstance(value, Field):  # a plain default stays a class attribute, as in dataclasses
            if f.default is _MISSING:
                delattr(cls, name)
            else:
                setattr(cls, name, f.default)
    own = tuple(found.values())
    init = [f for f in own if f.init]
    seen_default = False
    for f in init:
        if f.default is not _MISSING or f.factory is not None:
            seen_default = True
        elif seen_default:
            raise TypeError(f"{cls.__name__}: field {f.name} without a default follows one with a default")
    attrs: dict[str, Any] = {
        "__record_fields__": own,
        "__match_args__": tuple(f.name for f in init),
        "__init__": _init(cls, init, [f for f in own if not f.init]),
        "__repr__": _repr(tuple(f.name for f in own if f.repr)),
    }
    if eq:
        attrs["__eq__"] = _eq(tuple(f.name for f in own if f.compare))
        attrs["__hash__"] = _hash(tuple(f.name for f in own if f.compare)) if frozen else None
    if frozen:
        attrs["__setattr__"] = _refuse
        attrs["__delattr__"] = _refuse
    # what the class body defines stays (a __hash__ of None is Python's, for a body with an __eq__)
    defined = set(cls.__dict__) - {"__record_fields__", "__match_args__"}
    if cls.__dict__.get("__hash__", 0) is None and "__eq__" in cls.__dict__:
        defined.discard("__hash__")
    for name, value in attrs.items():
        if name not in defined:
            if callable(value) and value is not _refuse:
                value.__qualname__ = f"{cls.__qualname__}.{name}"
            setattr(cls, name, value)


def _init(cls: type, init: list[Field], later: list[Field]) -> Callable[..., None]:
    """The generic __init__ of `cls`: `init` from the arguments, then `later` (init=False) from
    their default or default factory."""
    names = tuple(f.name for f in init)
    later = [f for f in later if f.default is not _MISSING or f.factory is not None]
    count = len(names)
    plain = {f.name: f.default for f in init if f.default is not _MISSING}
    factories = {f.name: f.factory for f in init if f.factory is not None}
    post = getattr(cls, "__post_init__", None) is not None

    put = object.__setattr__  # past a frozen record's __setattr__, as dataclasses do: no __dict__ made
    made = 0

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        nonlocal made
        made += 1
        if made == _HOT and cls.__dict__.get("__init__") is __init__:
            setattr(cls, "__init__", _compiled(cls, init, later, post))  # noqa: B010 - mypy refuses cls.__init__ =
        if not kwargs and len(args) == count:  # every field by position: the common call, quickest
            for name, value in zip(names, args, strict=True):
                put(self, name, value)
        else:
            _fill(self, args, kwargs)
        for f in later:
            put(self, f.name, f.factory() if f.factory is not None else f.default)
        if post:
            self.__post_init__()

    def _fill(self: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        if len(args) > count:
            raise TypeError(f"{type(self).__name__}() takes {count} positional arguments but {len(args)} were given")
        for name, value in zip(names, args, strict=False):
            if name in kwargs:
                raise TypeError(f"{type(self).__name__}() got multiple values for argument '{name}'")
            put(self, name, value)
        left = len(kwargs)
        for name in names[len(args) :]:
            if name in kwargs:
                put(self, name, kwargs[name])
                left -= 1
            elif name in plain:
                put(self, name, plain[name])
            elif name in factories:
                put(self, name, factories[name]())
            else:
                raise TypeError(f"{type(self).__name__}() missing a value for '{name}'")
        if left:
            unknown = ", ".join(sorted(set(kwargs) - set(names)))
            raise TypeError(f"{type(self).__name__}() got an unexpected keyword argument {unknown}")

    return __init__


# a record made this many times gets an __init__ compiled for it, as dataclasses write theirs
# (twice as quick as the generic one); the few of a command's start-up never pay for compiling
_HOT = 256


def _compiled(cls: type, init: list[Field], later: list[Field], post: bool) -> Callable[..., None]:
    """`cls.__init__` as straight-line code: each field set, defaults and factories as given."""
    params, body = ["self"], []
    env: dict[str, Any] = {"_set": object.__setattr__, "_FACTORY": _MISSING}
    for n, f in enumerate(init):
        if f.factory is not None:
            env[f"_factory{n}"] = f.factory
            params.append(f"{f.name}=_FACTORY")
            body.append(f"_set(self, {f.name!r}, _factory{n}() if {f.name} is _FACTORY else {f.name})")
            continue
        if f.default is not _MISSING:
            env[f"_default{n}"] = f.default
            params.append(f"{f.name}=_default{n}")
        else:
            params.append(f.name)
        body.append(f"_set(self, {f.name!r}, {f.name})")
    for n, f in enumerate(later):
        if f.factory is not None:
            env[f"_later{n}"] = f.factory
            body.append(f"_set(self, {f.name!r}, _later{n}())")
        else:
            env[f"_later{n}"] = f.default
            body.append(f"_set(self, {f.name!r}, _later{n})")
    if post:
        body.append("self.__post_init__()")
    source = f"def __init__({', '.join(params)}):\n    " + "\n    ".join(body or ["pass"]) + "\n"
    exec(compile(source, f"<record {cls.__qualname__}>", "exec"), env)  # field names: the class's identifiers
    made: Callable[..., None] = env["__init__"]
    made.__qualname__ = f"{cls.__qualname__}.__init__"
    return made


def _repr(names: tuple[str, ...]) -> Callable[[Any], str]:
    def __repr__(self: Any) -> str:
        inner = ", ".join(f"{name}={getattr(self, name)!r}" for name in names)
        return f"{type(self).__qualname__}({inner})"

    return __repr__


def _key(names: tuple[str, ...]) -> Callable[[Any], tuple[Any, ...]]:
    """The compared fields of a record as a tuple (compared as dataclasses compare them)."""
    if len(names) == 1:
        one = names[0]
        return lambda obj: (getattr(obj, one),)
    return attrgetter(*names) if names else lambda obj: ()


def _eq(names: tuple[str, ...]) -> Callable[[Any, object], bool]:
    key = _key(names)

    def __eq__(self: Any, other: object) -> Any:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return key(self) == key(other)

    return __eq__


def _hash(names: tuple[str, ...]) -> Callable[[Any], int]:
    key = _key(names)

    def __hash__(self: Any) -> int:
        return hash(key(self))

    return __hash__


def _refuse(self: Any, name: str, *value: Any) -> None:
    raise FrozenRecordError(f"cannot assign to field '{name}' of a frozen {type(self).__name__}")
