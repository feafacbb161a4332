"""A pickle interpreter for untrusted model files: protocols 2-5, bounded work, no code.

The standard unpickler calls whatever `find_class` returns, lets BUILD reach any object's
`__setstate__` (a tensor's included), hashes any key (colliding integers make dict building
quadratic) and reads lengths it has not checked. This machine runs the opcodes NVIDIA's files
use and refuses the rest, and it keeps to a budget: an opcode count, an integer-literal size,
lengths checked against the bytes present, dict and set keys of types whose hashes cannot be
made to collide, and containers changed only through the operations their type allows.
What the allowed callables do with their arguments is theirs to check (pickle_reader.py).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# Real snapshots need about 30 000 opcodes at 32 px and under 100 000 at 1024 px (three
# networks); the budget is ten times that, and keeps the worst file near a second of work.
MAX_OPCODES = 1_000_000
# Integer literals: the storage magic number needs 10 bytes; nothing in a model needs more.
MAX_INT_BYTES = 32
# Entries of one MARK-delimited run (APPENDS, SETITEMS, TUPLE ...) are bounded by the opcode
# budget; the stack itself too.


class PickleRefused(Exception):
    """The stream does something this machine does not allow; the message says what."""


@dataclass
class Budget:
    """Work left for one model file, shared by the outer pickle and every storage blob inside."""

    opcodes: int = MAX_OPCODES


# Hash-safe dict/set keys: str and bytes use the randomised SipHash; small ints hash to
# themselves (only -1 and -2 share a hash); None and bool are constants.
_KEY_INT_LIMIT = 2**60


def check_key(key: Any) -> None:
    """Refuse a dict or set key whose hash an attacker could make collide with others."""
    kind = type(key)
    if kind is str or kind is bytes or key is None or kind is bool:
        return
    if kind is int and -_KEY_INT_LIMIT < key < _KEY_INT_LIMIT:
        return
    raise PickleRefused(f"refused dict/set key of type {kind.__name__} (allowed: str, small int)")


class _Mark:
    """The MARK object on the stack (never escapes the machine)."""


_MARK = _Mark()


def short(value: Any, limit: int = 60) -> str:
    """A bounded repr for messages: scalars and the start of strings, else the type name."""
    if isinstance(value, (str, bytes)):
        text = repr(value[:limit])
        return text + ("..." if len(value) > limit else "")
    if value is None or isinstance(value, (bool, int, float)):
        text = repr(value)
        return text if len(text) <= limit else text[:limit] + "..."
    return f"<{type(value).__name__}>"


class PickleMachine:
    """Runs one pickle from `data[start:]`; `load()` returns the object and sets `end`.

    Args:
        data: the bytes (a memoryview of the whole file; BINBYTES values are views into it).
        find_class: (module, name) -> an allowed callable or class; raises to refuse.
        budget: the opcode budget shared with other machines reading the same file.
        persistent_load: pid -> object, or None to refuse persistent ids.
        setstate: (obj, state) -> None for BUILD, raising to refuse; default refuses all.
        newobj: (cls, args) -> obj for NEWOBJ; default refuses all.
    """

    def __init__(
        self,
        data: memoryview,
        find_class: Callable[[str, str], Any],
        budget: Budget,
        *,
        start: int = 0,
        persistent_load: Callable[[Any], Any] | None = None,
        setstate: Callable[[Any, Any], None] | None = None,
        newobj: Callable[[Any, tuple], Any] | None = None,
    ) -> None:
        self.data = data
        self.pos = start
        self.end = start
        self.find_class = find_class
        self.budget = budget
        self.persistent_load = persistent_load
        self.setstate = setstate
        self.newobj = newobj
        self.stack: list[Any] = []
        self.marks: list[int] = []
        self.memo: dict[int, Any] = {}

    # -- reading ---------------------------------------------------------------------------

    def _take(self, n: int) -> memoryview:
        if n < 0 or n > len(self.data) - self.pos:
            raise PickleRefused(
                f"length {n} at byte {self.pos} runs past the end of the data "
                f"({len(self.data) - self.pos} bytes left; truncated file?)"
            )
        view = self.data[self.pos : self.pos + n]
        self.pos += n
        return view

    def _uint(self, n: int) -> int:
        return int.from_bytes(self._take(n), "little")

    def _line(self) -> str:
        rest = self.data[self.pos : self.pos + 256]
        try:
            n = bytes(rest).index(b"\n")
        except ValueError:
            raise PickleRefused(f"unterminated name at byte {self.pos}") from None
        text = bytes(self._take(n + 1)[:-1])
        try:
            return text.decode("ascii")
        except UnicodeDecodeError:
            raise PickleRefused(f"non-ASCII global name at byte {self.pos}") from None

    def _text(self, n: int) -> str:
        raw = self._take(n)
        try:
            return str(raw, "utf-8", "surrogatepass")
        except UnicodeDecodeError:
            raise PickleRefused(f"invalid UTF-8 string ending at byte {self.pos}") from None

    # -- stack -----------------------------------------------------------------------------

    def _pop(self) -> Any:
        if len(self.stack) <= (self.marks[-1] if self.marks else 0):
            raise PickleRefused(f"stack underflow at byte {self.pos}")
        return self.stack.pop()

    def _top(self) -> Any:
        if len(self.stack) <= (self.marks[-1] if self.marks else 0):
            raise PickleRefused(f"stack underflow at byte {self.pos}")
        return self.stack[-1]

    def _pop_mark(self) -> list[Any]:
        if not self.marks:
            raise PickleRefused(f"no MARK for the items at byte {self.pos}")
        at = self.marks.pop()
        items = self.stack[at:]
        del self.stack[at:]
        return items

    def _memo_get(self, index: int) -> Any:
        try:
            return self.memo[index]
        except KeyError:
            raise PickleRefused(f"memo entry {index} used before it was set") from None

    # -- the loop --------------------------------------------------------------------------

    def load(self) -> Any:
        """Run opcodes up to STOP; return the object left on the stack."""
        ops = _OPS
        budget = self.budget
        data = self.data
        while True:
            if self.pos >= len(data):
                raise PickleRefused("the pickle ends without a STOP opcode (truncated file?)")
            code = data[self.pos]
            self.pos += 1
            budget.opcodes -= 1
            if budget.opcodes < 0:
                raise PickleRefused(
                    f"more than {MAX_OPCODES} pickle opcodes (real model files need far fewer)"
                )
            op = ops.get(code)
            if op is None:
                raise PickleRefused(
                    f"unsupported pickle opcode {bytes([code])!r} at byte {self.pos - 1}"
                )
            if op(self):
                break
        if len(self.stack) != 1 or self.marks:
            raise PickleRefused("malformed pickle: STOP with an unbalanced stack")
        self.end = self.pos
        return self.stack.pop()

    # -- opcodes (each returns True only for STOP) -----------------------------------------

    def op_proto(self) -> None:
        version = self._uint(1)
        if not 2 <= version <= 5:
            raise PickleRefused(f"pickle protocol {version} is not supported (2-5)")

    def op_frame(self) -> None:
        size = self._uint(8)
        if size > len(self.data) - self.pos:
            raise PickleRefused(f"frame of {size} bytes runs past the end of the data")

    def op_stop(self) -> bool:
        return True

    def op_mark(self) -> None:
        self.marks.append(len(self.stack))

    def op_pop(self) -> None:
        if self.stack and (not self.marks or self.marks[-1] < len(self.stack)):
            self.stack.pop()
        else:
            self._pop_mark()

    def op_pop_mark(self) -> None:
        self._pop_mark()

    def op_dup(self) -> None:
        self.stack.append(self._top())

    def op_none(self) -> None:
        self.stack.append(None)

    def op_true(self) -> None:
        self.stack.append(True)

    def op_false(self) -> None:
        self.stack.append(False)

    def op_binint(self) -> None:
        self.stack.append(int.from_bytes(self._take(4), "little", signed=True))

    def op_binint1(self) -> None:
        self.stack.append(self._uint(1))

    def op_binint2(self) -> None:
        self.stack.append(self._uint(2))

    def _long(self, n: int) -> None:
        if n > MAX_INT_BYTES:
            raise PickleRefused(f"integer literal of {n} bytes (limit {MAX_INT_BYTES})")
        self.stack.append(int.from_bytes(self._take(n), "little", signed=True))

    def op_long1(self) -> None:
        self._long(self._uint(1))

    def op_long4(self) -> None:
        self._long(int.from_bytes(self._take(4), "little", signed=True))

    def op_binfloat(self) -> None:
        self.stack.append(struct.unpack(">d", self._take(8))[0])

    def op_binunicode(self) -> None:
        self.stack.append(self._text(self._uint(4)))

    def op_short_binunicode(self) -> None:
        self.stack.append(self._text(self._uint(1)))

    def op_binunicode8(self) -> None:
        self.stack.append(self._text(self._uint(8)))

    def op_binbytes(self) -> None:
        self.stack.append(self._take(self._uint(4)))

    def op_short_binbytes(self) -> None:
        self.stack.append(self._take(self._uint(1)))

    def op_binbytes8(self) -> None:
        self.stack.append(self._take(self._uint(8)))

    def _binstring(self, n: int) -> None:
        raw = self._take(n)
        try:
            self.stack.append(str(raw, "ascii"))
        except UnicodeDecodeError:
            raise PickleRefused(f"non-ASCII Python 2 string at byte {self.pos}") from None

    def op_binstring(self) -> None:
        self._binstring(int.from_bytes(self._take(4), "little", signed=True))

    def op_short_binstring(self) -> None:
        self._binstring(self._uint(1))

    def op_empty_tuple(self) -> None:
        self.stack.append(())

    def op_tuple(self) -> None:
        self.stack.append(tuple(self._pop_mark()))

    def op_tuple1(self) -> None:
        self.stack.append((self._pop(),))

    def op_tuple2(self) -> None:
        b = self._pop()
        self.stack.append((self._pop(), b))

    def op_tuple3(self) -> None:
        c = self._pop()
        b = self._pop()
        self.stack.append((self._pop(), b, c))

    def op_empty_list(self) -> None:
        self.stack.append([])

    def op_list(self) -> None:
        self.stack.append(self._pop_mark())

    def _target(self, kind: type | tuple[type, ...], what: str) -> Any:
        target = self._top()
        if not isinstance(target, kind):
            raise PickleRefused(f"{what} on a {type(target).__name__} is not allowed")
        return target

    def op_append(self) -> None:
        item = self._pop()
        self._target(list, "APPEND").append(item)

    def op_appends(self) -> None:
        items = self._pop_mark()
        self._target(list, "APPENDS").extend(items)

    def op_empty_dict(self) -> None:
        self.stack.append({})

    def _set_items(self, target: dict, items: list[Any]) -> None:
        if len(items) % 2:
            raise PickleRefused(f"odd number of dict items at byte {self.pos}")
        for i in range(0, len(items), 2):
            check_key(items[i])
            target[items[i]] = items[i + 1]

    def op_dict(self) -> None:
        items = self._pop_mark()
        target: dict = {}
        self._set_items(target, items)
        self.stack.append(target)

    def op_setitem(self) -> None:
        value = self._pop()
        key = self._pop()
        self._set_items(self._target(dict, "SETITEM"), [key, value])

    def op_setitems(self) -> None:
        items = self._pop_mark()
        self._set_items(self._target(dict, "SETITEMS"), items)

    def op_empty_set(self) -> None:
        self.stack.append(set())

    def op_additems(self) -> None:
        items = self._pop_mark()
        target = self._target(set, "ADDITEMS")
        for item in items:
            check_key(item)
            target.add(item)

    def op_frozenset(self) -> None:
        items = self._pop_mark()
        for item in items:
            check_key(item)
        self.stack.append(frozenset(items))

    def op_global(self) -> None:
        module = self._line()
        name = self._line()
        self.stack.append(self.find_class(module, name))

    def op_stack_global(self) -> None:
        name = self._pop()
        module = self._pop()
        if type(module) is not str or type(name) is not str:
            raise PickleRefused("STACK_GLOBAL with a module or name that is not a string")
        self.stack.append(self.find_class(module, name))

    def op_reduce(self) -> None:
        args = self._pop()
        func = self._pop()
        if type(args) is not tuple:
            raise PickleRefused(f"REDUCE arguments are a {type(args).__name__}, not a tuple")
        if not callable(func):
            raise PickleRefused(f"REDUCE of a {type(func).__name__}, not an allowed callable")
        self.stack.append(func(*args))

    def op_newobj(self) -> None:
        args = self._pop()
        cls = self._pop()
        if type(args) is not tuple:
            raise PickleRefused("NEWOBJ arguments are not a tuple")
        if self.newobj is None:
            raise PickleRefused(f"refused NEWOBJ of {short(cls)}")
        self.stack.append(self.newobj(cls, args))

    def op_build(self) -> None:
        state = self._pop()
        obj = self._top()
        if self.setstate is None:
            raise PickleRefused(f"refused BUILD state on {short(obj)}")
        self.setstate(obj, state)

    def op_binpersid(self) -> None:
        pid = self._pop()
        if self.persistent_load is None:
            raise PickleRefused(f"refused persistent id {short(pid)}")
        self.stack.append(self.persistent_load(pid))

    def _put(self, index: int) -> None:
        self.memo[index] = self._top()

    def op_binput(self) -> None:
        self._put(self._uint(1))

    def op_long_binput(self) -> None:
        self._put(self._uint(4))

    def op_memoize(self) -> None:
        self._put(len(self.memo))

    def op_binget(self) -> None:
        self.stack.append(self._memo_get(self._uint(1)))

    def op_long_binget(self) -> None:
        self.stack.append(self._memo_get(self._uint(4)))


_OPS: dict[int, Callable[[PickleMachine], Any]] = {
    0x80: PickleMachine.op_proto,
    0x95: PickleMachine.op_frame,
    ord("."): PickleMachine.op_stop,
    ord("("): PickleMachine.op_mark,
    ord("0"): PickleMachine.op_pop,
    ord("1"): PickleMachine.op_pop_mark,
    ord("2"): PickleMachine.op_dup,
    ord("N"): PickleMachine.op_none,
    0x88: PickleMachine.op_true,
    0x89: PickleMachine.op_false,
    ord("J"): PickleMachine.op_binint,
    ord("K"): PickleMachine.op_binint1,
    ord("M"): PickleMachine.op_binint2,
    0x8A: PickleMachine.op_long1,
    0x8B: PickleMachine.op_long4,
    ord("G"): PickleMachine.op_binfloat,
    ord("X"): PickleMachine.op_binunicode,
    0x8C: PickleMachine.op_short_binunicode,
    0x8D: PickleMachine.op_binunicode8,
    ord("B"): PickleMachine.op_binbytes,
    ord("C"): PickleMachine.op_short_binbytes,
    0x8E: PickleMachine.op_binbytes8,
    ord("T"): PickleMachine.op_binstring,
    ord("U"): PickleMachine.op_short_binstring,
    ord(")"): PickleMachine.op_empty_tuple,
    ord("t"): PickleMachine.op_tuple,
    0x85: PickleMachine.op_tuple1,
    0x86: PickleMachine.op_tuple2,
    0x87: PickleMachine.op_tuple3,
    ord("]"): PickleMachine.op_empty_list,
    ord("l"): PickleMachine.op_list,
    ord("a"): PickleMachine.op_append,
    ord("e"): PickleMachine.op_appends,
    ord("}"): PickleMachine.op_empty_dict,
    ord("d"): PickleMachine.op_dict,
    ord("s"): PickleMachine.op_setitem,
    ord("u"): PickleMachine.op_setitems,
    0x8F: PickleMachine.op_empty_set,
    0x90: PickleMachine.op_additems,
    0x91: PickleMachine.op_frozenset,
    ord("c"): PickleMachine.op_global,
    0x93: PickleMachine.op_stack_global,
    ord("R"): PickleMachine.op_reduce,
    0x81: PickleMachine.op_newobj,
    ord("b"): PickleMachine.op_build,
    ord("Q"): PickleMachine.op_binpersid,
    ord("q"): PickleMachine.op_binput,
    ord("r"): PickleMachine.op_long_binput,
    0x94: PickleMachine.op_memoize,
    ord("h"): PickleMachine.op_binget,
    ord("j"): PickleMachine.op_long_binget,
}
