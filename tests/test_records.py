"""promoter.records keeps the contract of the dataclasses it replaced: each behaviour is checked
beside the same class made by `dataclasses`, so the two cannot drift apart."""

from __future__ import annotations

import dataclasses
import pickle
from typing import Any, ClassVar

import pytest

from promoter.records import FrozenRecordError, field, fields, record, replace


def pair(frozen: bool = False, eq: bool = True) -> tuple[type, type]:
    """The same class as a record and as a dataclass."""

    def body() -> dict[str, Any]:
        return {
            "__annotations__": {
                "name": "str",
                "size": "int",
                "tags": "tuple[str, ...]",
                "note": "str",
                "hidden": "str",
            },
            "size": 1,
        }

    made = []
    for deco, fld in (
        (record(frozen=frozen, eq=eq), field),
        (dataclasses.dataclass(frozen=frozen, eq=eq), dataclasses.field),
    ):
        ns = body()
        ns["tags"] = fld(default_factory=tuple)
        ns["note"] = fld(default="", compare=False)
        ns["hidden"] = fld(default="x", repr=False)
        made.append(deco(type("Thing", (), ns)))
    return made[0], made[1]


@pytest.mark.parametrize("frozen", [False, True])
def test_init_repr_eq_and_hash_are_those_of_the_dataclass(frozen: bool) -> None:
    rec, dc = pair(frozen)
    for args, kwargs in [
        (("a",), {}),
        (("a", 2), {"tags": ("t",)}),
        ((), {"name": "b", "note": "n"}),
        (("c", 3, ("x",), "n", "h"), {}),
    ]:
        r, d = rec(*args, **kwargs), dc(*args, **kwargs)
        assert repr(r) == repr(d)
        assert [getattr(r, f.name) for f in fields(r)] == [getattr(d, f.name) for f in dataclasses.fields(d)]
        assert r == rec(*args, **kwargs) and r != rec("other")
        if frozen:
            assert hash(r) == hash(rec(*args, **kwargs))
            assert {r, rec(*args, **kwargs)} == {r}
        else:
            assert type(r).__hash__ is None and type(d).__hash__ is None
    # compare=False leaves a field out of equality, as in the dataclass
    assert rec("a", note="one") == rec("a", note="two") and dc("a", note="one") == dc("a", note="two")
    assert rec("a") != dc("a")  # a record is not equal to another class with the same fields
    assert rec.__match_args__ == dc.__match_args__ == ("name", "size", "tags", "note", "hidden")


def test_each_instance_gets_its_own_default_from_a_factory() -> None:
    one, two = Child(1), Child(2)
    one.c.append(3)
    assert two.c == [] and one.c == [3]
    assert Base.b == "b" and not hasattr(Child, "c")  # a plain default stays a class attribute, a factory does not


@pytest.mark.parametrize(
    ("args", "kwargs", "says"),
    [
        ((), {}, "missing a value for 'name'"),
        (("a",), {"name": "b"}, "multiple values for argument 'name'"),
        (("a",), {"colour": "red"}, "unexpected keyword argument colour"),
        (("a", 1, [], "", "", "extra"), {}, "takes 5 positional arguments but 6 were given"),
    ],
)
def test_wrong_arguments_are_refused_like_a_function_call(
    args: tuple[Any, ...], kwargs: dict[str, Any], says: str
) -> None:
    rec, dc = pair()
    with pytest.raises(TypeError, match=says):
        rec(*args, **kwargs)
    with pytest.raises(TypeError):
        dc(*args, **kwargs)


def test_frozen_refuses_assignment_and_deletion() -> None:
    rec, dc = pair(frozen=True)
    r = rec("a")
    with pytest.raises(FrozenRecordError, match="name"):
        r.name = "b"
    with pytest.raises(AttributeError):  # FrozenRecordError is one, as dataclasses' FrozenInstanceError
        del r.size
    assert r.name == "a" and r.size == 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        dc("a").name = "b"


def test_eq_false_keeps_identity() -> None:
    rec, dc = pair(eq=False)
    r = rec("a")
    assert r != rec("a") and r == r and hash(r) == object.__hash__(r)
    assert (dc("a") == dc("a")) is False


def test_replace_copies_with_changes_and_refuses_unknown_fields() -> None:
    rec, _ = pair(frozen=True)
    r = rec("a", 2, ("t",))
    s = replace(r, size=3)
    assert (s.name, s.size, s.tags) == ("a", 3, ("t",)) and r.size == 2
    with pytest.raises(TypeError, match="no field colour"):
        replace(r, colour="red")


@record(frozen=True)
class Parsed:
    text: str
    words: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.text:
            raise ValueError("empty")
        object.__setattr__(self, "words", tuple(self.text.split()))


@record
class Base:
    a: int
    b: str = "b"


@record
class Child(Base):
    c: list[int] = field(default_factory=list)


def test_init_false_fields_are_left_to_post_init() -> None:
    p = Parsed("two words")
    assert p.words == ("two", "words") and repr(p) == "Parsed(text='two words')"
    assert p == Parsed("two words")
    with pytest.raises(ValueError, match="empty"):
        Parsed("")
    with pytest.raises(TypeError, match="not set by __init__"):
        replace(p, words=())
    assert replace(p, text="three more words").words == ("three", "more", "words")


def test_a_base_records_fields_come_first() -> None:
    c = Child(1, "x", [2])
    assert [f.name for f in fields(Child)] == ["a", "b", "c"]
    assert repr(c) == "Child(a=1, b='x', c=[2])" and c == Child(1, "x", [2]) and c != Base(1, "x")
    assert Child(1).b == "b"


def test_records_pickle_and_a_required_field_may_not_follow_a_default() -> None:
    for r in (Parsed("two words"), Child(1, "x", [2])):
        assert pickle.loads(pickle.dumps(r)) == r
    with pytest.raises(TypeError, match="without a default follows"):

        @record
        class Bad:
            a: int = 1
            b: int  # type: ignore[misc]


def test_class_variables_are_refused_not_made_fields() -> None:
    with pytest.raises(TypeError, match="no ClassVar or InitVar"):

        @record
        class Counted:
            a: int
            seen: ClassVar[int] = 0


@record(frozen=True)
class Hot:
    name: str
    size: int = 1
    tags: list[str] = field(default_factory=list)
    words: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "words", tuple(self.name.split()))


def test_a_record_made_often_gets_a_compiled_init_that_behaves_the_same() -> None:
    from promoter import records

    generic = Hot.__init__
    calls = [(("a b",), {}), (("c", 2), {"tags": ["t"]}), ((), {"name": "d", "size": 3}), (("e", 4, ["u"]), {})]
    before = [Hot(*a, **k) for a, k in calls]
    for _ in range(records._HOT):
        Hot("warm")
    assert Hot.__init__ is not generic and Hot.__init__.__qualname__ == "Hot.__init__"
    after = [Hot(*a, **k) for a, k in calls]
    assert after == before and [repr(x) for x in after] == [repr(x) for x in before]
    assert [x.words for x in after] == [x.words for x in before] == [("a", "b"), ("c",), ("d",), ("e",)]
    one, two = Hot("x"), Hot("y")
    one.tags.append("z")
    assert two.tags == [] and Hot("x").size == 1  # a factory per instance, a plain default shared
    for args, kwargs in [((), {}), (("a",), {"name": "b"}), (("a",), {"colour": "red"}), (("a", 1, [], 4), {})]:
        with pytest.raises(TypeError):
            Hot(*args, **kwargs)
    with pytest.raises(FrozenRecordError):
        one.size = 2


def test_init_false_fields_with_a_default_or_factory_are_set_and_mutable_defaults_refused() -> None:
    import dataclasses

    from promoter import records

    @record
    class Cache:
        key: str
        hits: int = field(default=0, init=False)
        seen: list[str] = field(default_factory=list, init=False)

    @dataclasses.dataclass
    class DcCache:
        key: str
        hits: int = dataclasses.field(default=0, init=False)
        seen: list[str] = dataclasses.field(default_factory=list, init=False)

    for _ in range(records._HOT + 1):  # the generic __init__, then the compiled one
        one, two = Cache("a"), Cache("b")
        one.seen.append("x")
        assert (one.hits, one.seen, two.seen) == (0, ["x"], [])
        assert repr(Cache("k")) == repr(DcCache("k")).replace("DcCache", "Cache")
    with pytest.raises(ValueError, match="mutable default is shared"):

        @record
        class Shared:
            items: list[str] = []  # noqa: RUF012


def test_a_frozen_record_with_its_own_eq_still_hashes() -> None:
    @record(frozen=True)
    class Key:
        name: str

        def __eq__(self, other: object) -> bool:
            return isinstance(other, Key) and self.name.lower() == other.name.lower()

    assert Key("A") == Key("a") and hash(Key("A")) == hash(("A",))
