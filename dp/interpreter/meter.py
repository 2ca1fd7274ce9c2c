"""Steps and prices: what code compiled under limits (a *metered* session, see
Session.metered) does to stay inside them. Code compiled without limits has none of
this: it is the bytecode of hand-written Python.

Steps. Metered code takes one step on entering a function or lambda and one on each
trip of a loop, from one iterator per session, `rt·steps` (a range iterator, so a
step is a `for` over it: no call, no global store, no dict version change that would
slow every other global read):

    fn f() { … }           def f·():
                               for rt·tick in rt·steps: break
                               else: rt·out()
    while c { … }          for rt·tick in rt·steps:
                               if not c: break
                               …
                           else: rt·out()
    for i in a..b { … }    for i in rt·counted_range(a, b): …      (no break or return inside:
                                                                     the trips are charged at once)
                           for i, rt·tick in zip(range(a, b), rt·steps): …   (otherwise)
                           else: rt·check_steps()

A run's limit moves the iterator's position so that `max_steps` steps are left;
without one about 4.6e18 are. Exhausted, it stays exhausted: a step limit is sticky.

Prices. One Python or numpy call can do far more work than a step (`10 ** 10 ** 10`,
`zeros([100000, 100000])`, `s + s` on a long string). Metered code makes such calls
through the helpers below, which estimate the call's work from its operands' sizes
before doing it, in nanoseconds on a fast machine (a lower bound: nothing is refused
that could finish in time), and refuse it with a DP error when it needs more steps
than are left (one step per STEP_NS) or more time than is left before the timeout.
"""
from __future__ import annotations

import math
import time
from itertools import chain, islice

from dp.dsl import lazy_numpy

from .runtime import DPRuntimeError, DPStop, _idiv, _imod, _matmul

np = lazy_numpy.module(globals())          # numpy, imported when a program first needs it

TOTAL = 2 ** 62              # steps without a limit: never reached
STEP_NS = 20                 # the price of a step: about one loop trip on a fast machine
DIGIT_NS = 0.4               # one 30-bit digit multiply-add (schoolbook)
KARATSUBA_NS = 4.0           # one unit of n ** log2(3) in a Karatsuba product of n digits
BYTE_NS = 0.05               # writing one byte of a new value (20 GB/s)
ELEMENT_NS = 2.0             # copying one element of a list (a pointer and a reference count)
OBJECT_NS = 5.0              # making one Python int or float (range, to_list)
FMA_NS = 0.025               # one multiply-add of a matrix product (a fast BLAS: 40 GFLOP/s)
QUIET_NS = 2e5               # below this a call is never refused (it cannot overrun by more)


class StepLimit(DPStop):
    pass


class PriceLimit(DPStop):
    """A call refused before it ran: what it would cost exceeds what is left."""


class Meter:
    """One session's step counter and the deadline of the run in progress."""

    def __init__(self):
        self.steps = iter(range(TOTAL))
        self.limit: int | None = None
        self.deadline: float | None = None      # time.monotonic() at which the timeout fires
        self.timeout: float | None = None
        self.refused: DPStop | None = None      # sticky: once refused, every later check fails
        self.halted: type[DPStop] | None = None  # a stop that came due (limits.py): the next step raises it
        self.running = 0                        # > 0 while DP code runs (the session counts it)

    # -------------------------------------------------------------- runs
    def start(self, limit: int | None, timeout: float | None) -> None:
        self.limit, self.timeout, self.refused, self.halted = limit, timeout, None, None
        self.deadline = time.monotonic() + timeout if timeout is not None else None
        self.steps.__setstate__(TOTAL - limit if limit is not None else 0)

    def end(self) -> None:
        self.limit = self.deadline = self.timeout = self.refused = self.halted = None
        self.steps.__setstate__(0)

    def halt(self, kind: type[DPStop]) -> None:
        """A timeout or cancel came due (called from any thread): metered code raises it
        at its next step, whatever caught the one sent to the thread."""
        self.halted = kind
        self.steps.__setstate__(TOTAL)

    def left(self) -> int:
        return self.steps.__length_hint__()

    # -------------------------------------------------------------- steps
    def out(self):
        """The step iterator is exhausted (or a price was refused, or a stop came): stop."""
        if self.halted is not None:
            raise self.halted()
        if self.refused is not None:
            raise self.refused
        raise StepLimit(f"step limit exceeded: the program took more than {self.limit} steps",
                        "it may not end; or raise the interpreter's `max_steps`")

    def check(self) -> None:
        """After a zipped loop ended: did it end because the steps ran out?"""
        if self.refused is not None or self.halted is not None or not self.steps.__length_hint__():
            self.out()

    def charge(self, n: int) -> None:
        left = self.steps.__length_hint__()
        if n > left:
            self.steps.__setstate__(TOTAL)
            self.out()
        self.steps.__setstate__(TOTAL - left + n)

    def counted_range(self, a: int, b: int) -> range:
        """A loop that runs every trip: charged at once."""
        if b > a:
            self.charge(b - a)
        return range(a, b)

    def counted(self, xs):
        self.charge(len(xs))
        return xs

    # A loop that may leave early (`break`, `return`) is charged in chunks as it goes,
    # 16 trips, then 32, … up to CHUNK: it is charged for at most the trips it ran plus
    # what is left of the chunk it left in (never more than twice the trips, plus 16).
    CHUNK = 4096

    def chunked_range(self, a: int, b: int):
        if b - a <= 16:
            if b > a:
                self.charge(b - a)
            return range(a, b)
        return chain.from_iterable(self._range_chunks(a, b))

    def _range_chunks(self, a, b):
        size = 16
        while a < b:
            hi = min(a + size, b)
            self.charge(hi - a)
            yield range(a, hi)
            a, size = hi, min(2 * size, self.CHUNK)

    def chunked(self, xs):
        n = len(xs)
        if n <= 16:
            self.charge(n)
            return xs
        return chain.from_iterable(self._chunks(iter(xs), n))

    def _chunks(self, it, n):
        done, size = 0, 16
        while done < n:
            k = min(size, n - done)
            self.charge(k)
            yield islice(it, k)
            done, size = done + k, min(2 * size, self.CHUNK)

    def charge_code(self, module) -> None:
        """Compiling code while a program runs (a derivative made at run time) costs a
        step per Python syntax node it compiles to: transforms made without end run out
        of steps too. (What a program's text compiles to before it runs is bounded by
        the text, and by the timeout.)"""
        if self.running:
            import ast
            self.charge(sum(1 for _ in ast.walk(module)))

    # -------------------------------------------------------------- prices
    def price(self, ns: float, what) -> None:
        """Refuse a call that would take ns nanoseconds (on a fast machine) if that is
        more steps, or more time, than is left. what() describes it, for the message."""
        if self.halted is not None or self.refused is not None:
            self.out()
        steps = int(ns // STEP_NS)
        if steps:
            left = self.steps.__length_hint__()
            if steps > left:
                self.steps.__setstate__(TOTAL)
                self.refused = PriceLimit(
                    f"step limit exceeded: {what()} would take about {_count(steps)} steps, "
                    f"more than the {_count(left)} left of {self.limit}" if self.limit is not None else
                    f"{what()} is too big to make",
                    "make it smaller; or raise the interpreter's `max_steps`")
                raise self.refused
            self.steps.__setstate__(TOTAL - left + steps)
        if self.deadline is not None and ns > QUIET_NS:
            left_s = self.deadline - time.monotonic()
            if ns * 1e-9 > left_s:
                self.refused = PriceLimit(
                    f"time limit exceeded: {what()} would take at least {_seconds(ns * 1e-9)}, "
                    f"more than the {_seconds(max(left_s, 0.0))} left of {self.timeout:g} s",
                    "make it smaller; or raise the interpreter's `timeout`")
                raise self.refused


def copy_size(v) -> int:
    """The elements a deep copy of v makes: a list shared many times over is copied
    as many times (value semantics), so it counts as often; each shared part is walked
    once (a memo by identity), without recursion."""
    from .values import DPEnum, DPStruct
    if type(v) is list and v and type(v[0]) is list and all(type(x) is list for x in v) \
            and all(not x or type(x[0]) in (int, float, bool, str) for x in v):
        return len(v) + sum(map(len, v))         # lists of lists of scalars: counted in C
    sizes: dict = {}
    stack = [(v, False)]
    while stack:
        x, done = stack.pop()
        if done:
            sizes[id(x)] = _length(x) + sum(sizes.get(id(c), 0) for c in _parts_of(x, DPStruct, DPEnum))
            continue
        if id(x) in sizes:
            continue
        stack.append((x, True))
        for c in _parts_of(x, DPStruct, DPEnum):
            if id(c) not in sizes and isinstance(c, (list, tuple, dict, DPStruct, DPEnum)):
                stack.append((c, False))
    return sizes.get(id(v), 0)


def _parts_of(x, struct, enum):
    if isinstance(x, (list, tuple)):
        return x
    if isinstance(x, dict):
        return x.values()
    if isinstance(x, struct):
        return [getattr(x, a) for a in x.__slots__]
    if isinstance(x, enum):
        return x.vals
    return ()


def _length(x) -> int:
    return len(x) if isinstance(x, (list, tuple, dict)) else 1


def _count(n: int) -> str:
    return f"{n:,}".replace(",", "_") if n < 10 ** 15 else f"{float(n):.2g}"


def _seconds(s: float) -> str:
    if s < 1:
        return f"{s * 1e3:.0f} ms"
    if s < 1e5:
        return f"{s:.3g} s"
    return f"{s:.2g} s"


# ---------------------------------------------------------------------- cost models

def mul_ns(bits_a: int, bits_b: int) -> float:
    """A lower bound on the time of an int product: schoolbook for short factors,
    Karatsuba (as CPython does, in slices of the shorter one) beyond 70 digits."""
    a, b = bits_a // 30 + 1, bits_b // 30 + 1
    small, big = (a, b) if a <= b else (b, a)
    if small < 70:
        return small * big * DIGIT_NS
    return (big / small) * small ** 1.585 * KARATSUBA_NS


def _bits(x: int) -> int:
    return x.bit_length() if x >= 0 else (-x).bit_length()


def _shape_size(shape) -> int:
    n = 1
    for d in shape:
        n *= max(int(d), 0)
    return n


def _size(x) -> int:
    return x.size if type(x) is np.ndarray else 1


def _broadcast_size(*xs) -> int:
    """The number of elements an elementwise operation on xs makes (numpy's rules;
    shapes that do not broadcast are priced as the largest operand, numpy refuses them)."""
    shapes = [x.shape for x in xs if type(x) is np.ndarray]
    if not shapes:
        return 1
    first = shapes[0]
    if all(s == first for s in shapes):
        return _shape_size(first)
    nd = max(len(s) for s in shapes)
    out = 1
    for axis in range(nd):
        dims = {s[axis - nd + len(s)] for s in shapes if axis - nd + len(s) >= 0}
        dims.discard(1)
        out *= max(dims) if dims else 1
    return out


def _elements(n: int) -> str:
    return f"a tensor of {_count(n)} elements ({_bytes(8 * n)})"


def _bytes(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB", "TB", "PB"):
        if n < 1000 or unit == "PB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.3g} {unit}"
        n /= 1000
    return f"{n:.3g} PB"


# ---------------------------------------------------------------------- priced helpers

def priced_namespace(meter: Meter, prims) -> dict:
    """The helpers metered code calls: step counting, and priced versions of every
    call that can make a value much bigger than its operands (or take much longer)."""
    price = meter.price
    ns = {"rt·steps": meter.steps, "rt·out": meter.out, "rt·check_steps": meter.check,
          "rt·counted_range": meter.counted_range, "rt·counted": meter.counted,
          "rt·chunked_range": meter.chunked_range, "rt·chunked": meter.chunked}

    def ipow(a, b):
        if b < 0:
            raise DPRuntimeError("negative exponent in int ** int", "use floats: `float(a) ** float(b)`")
        if b > 1 and (a > 1 or a < -1):
            bits = b * (_bits(a) - 1) + 1               # a lower bound on the result's size
            if bits > 4096:
                price(mul_ns(bits // 2, bits // 2) + bits * BYTE_NS / 8,
                      lambda: f"`{a if _bits(a) < 64 else '…'} ** {b}` (an int of about {_count(bits)} bits)")
        return a ** b

    def imul(a, b):
        if -BIG < a < BIG and -BIG < b < BIG:
            return a * b
        ba, bb = _bits(a), _bits(b)
        price(mul_ns(ba, bb), lambda: f"multiplying ints of {_count(ba)} and {_count(bb)} bits")
        return a * b

    def division_price(a, b):
        ba, bb = _bits(a), _bits(b)
        if ba > 4096 and bb > 64:
            price((ba // 30 + 1) * (bb // 30 + 1) * DIGIT_NS * 0.5,
                  lambda: f"dividing an int of {_count(ba)} bits by one of {_count(bb)}")

    def idiv(a, b):
        if not (-BIG < a < BIG):
            division_price(a, b)
        return _idiv(a, b)

    def imod(a, b):
        if not (-BIG < a < BIG):
            division_price(a, b)
        return _imod(a, b)

    def concat(a, b):
        n = len(a) + len(b)
        if n > 4096:
            if type(a) is str:
                price(n * 4 * BYTE_NS, lambda: f"joining strings into one of {_count(n)} characters")
            else:
                price(n * ELEMENT_NS, lambda: f"joining lists into one of {_count(n)} elements")
        return a + b

    def extend(xs, ys):
        if len(ys) > 4096:
            price(len(ys) * ELEMENT_NS, lambda: f"extending a list by {_count(len(ys))} elements")
        xs.extend(ys)

    def splice(xs, lo, hi, ys):
        n = len(xs) + len(ys)
        if n > 4096:
            price(n * ELEMENT_NS, lambda: f"replacing a slice of a list by {_count(len(ys))} elements")
        xs[lo:hi] = ys

    def range_list(a, b=None):
        n = a if b is None else b - a
        if n > 4096:
            price(n * OBJECT_NS, lambda: f"`range` of {_count(n)} ints")
        return list(range(a)) if b is None else list(range(a, b))

    def matmul(a, b):
        price(_matmul_ns(a, b), lambda: f"a matrix product of shapes {np.shape(a)} and {np.shape(b)}")
        return _matmul(a, b)

    import operator
    comparisons = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt,
                   ">=": operator.ge}

    def compare(a, b, op):
        n = _broadcast_size(a, b)
        if n > 4096:
            price(n * 8 * BYTE_NS, lambda: f"`{op}` making {_elements(n)}")
        return comparisons[op](a, b)

    from .values import format_value, values_equal

    # a piece walked in Python costs what a loop trip does; a flat list's elements,
    # compared in one C call, what copying them does
    def walked(n, flat):
        price(n * (ELEMENT_NS if flat else STEP_NS), lambda: f"comparing values ({_count(n)} more elements)")

    def equal(a, b):
        return values_equal(a, b, walked)

    def written(n):
        price(n * STEP_NS, lambda: f"writing a value as text ({_count(n)} more pieces)")

    def as_text(v):
        return format_value(v, True, written)

    def copied(copy, v):
        n = copy_size(v)
        if n > 4096:
            price(n * ELEMENT_NS, lambda: f"copying a value of {_count(n)} elements")
        return copy(v)

    ns.update({"rt·g·compare": compare, "rt·zip": zip, "rt·g·equal": equal, "rt·g·str": as_text,
               "rt·g·copied": copied})
    ns.update({"rt·g·ipow": ipow, "rt·g·imul": imul, "rt·g·idiv": idiv, "rt·g·imod": imod,
               "rt·g·concat": concat, "rt·g·extend": extend, "rt·g·splice": splice, "rt·g·range_list": range_list,
               "rt·g·matmul": matmul})
    for name, prim in prims:
        wrapped = _priced_prim(prim, price)
        if wrapped is not None:
            ns[priced_name(name)] = wrapped
    return ns


BIG = 1 << 2048              # ints below this are multiplied and divided without a price


def priced_name(py_name: str) -> str:
    """`rt·zeros·0` → `rt·g·zeros·0`: the priced version's name in the namespace."""
    return "rt·g·" + py_name[len("rt·"):]


def _matmul_ns(a, b) -> float:
    sa, sb = np.shape(a), np.shape(b)
    if len(sa) == 0 or len(sb) == 0:
        return 0.0
    k = sa[-1]
    rows = _shape_size(sa[:-1])
    cols = sb[-1] if len(sb) >= 2 else 1
    batch = _shape_size(sb[:-2]) if len(sb) > 2 else 1
    return rows * k * cols * batch * FMA_NS + rows * cols * batch * 8 * BYTE_NS


# The tensor primitives that can make a tensor bigger than their tensor operands (from
# ints, or by broadcasting two tensors, or a product), and how many elements they make.
# The others make at most as many as their largest operand already has: a step's
# worth of them is bounded by the sizes the program has paid for.
def _shape_arg(shape) -> int:
    if isinstance(shape, int):
        return max(shape, 0)
    return _shape_size(shape)


_MAKES = {
    "zeros": lambda shape: _shape_arg(shape),
    "ones": lambda shape: _shape_arg(shape),
    "full": lambda shape, v: _shape_arg(shape),
    "eye": lambda n: max(n, 0) ** 2,
    "arange": lambda a, b=None: max(a if b is None else b - a, 0),
    "linspace": lambda a, b, n: max(n, 0),
    "normal": lambda key, shape: _shape_arg(shape),
    "uniform": lambda key, shape: _shape_arg(shape),
    "outer": lambda a, b: _size(a) * _size(b),
    "concat": lambda ts, axis: _total_size(ts),
    "stack": lambda ts, axis: _total_size(ts),
}


# The time one element takes to make, where it is more than writing its 8 bytes: a
# random number (numpy's generators, measured at 5-40 ns an element for normal, 3-14
# for uniform, fast machine to slow)
_ELEMENT_NS = {"normal": 5.0, "uniform": 5.0}


def _total_size(ts) -> int:
    n = 0
    for t in ts:
        n += t.size if type(t) is np.ndarray else 1
    return n
_PRODUCTS = {"@", "matmul", "mm_grad_a", "mm_grad_b", "mm_grad_b_wrt_a"}


def _priced_prim(prim, price):
    from dp.dsl.types import TENSOR
    if prim.impl is None:
        return None
    if prim.name in _PRODUCTS:
        def product(*args):
            price(_matmul_ns(args[0], args[-1]), lambda: f"a matrix product of shapes {np.shape(args[0])} and "
                                                           f"{np.shape(args[-1])}")
            return prim.impl(*args)
        return product
    if prim.name == "sort":
        def sort(xs):
            n = len(xs)
            if n > 64:
                # n log n comparisons; strings that share long prefixes compare slowly
                each = OBJECT_NS + (sum(map(len, xs[:64])) / 64 * BYTE_NS if isinstance(xs[0], str) else 0.0)
                price(n * math.log2(n) * each, lambda: f"sorting {_count(n)} elements")
            return prim.impl(xs)
        return sort
    makes = _MAKES.get(prim.name)
    if makes is not None:
        each = _ELEMENT_NS.get(prim.name, 8 * BYTE_NS)

        def priced(*args):
            n = makes(*args)
            if n > 4096:
                price(n * each, lambda: f"`{prim.name}` making {_elements(n)}")
            return prim.impl(*args)
        priced.__name__ = prim.name
        return priced
    tensors = [i for i, t in enumerate(prim.types) if t == TENSOR]
    if not (prim.elementwise and prim.ret == TENSOR and len(tensors) >= 2):
        return None
    if len(prim.types) == 2:                      # the common case, without *args
        def broadcast2(a, b):
            if a.shape != b.shape:
                n = _broadcast_size(a, b)
                if n > 4096 and n > a.size and n > b.size:
                    price(n * 8 * BYTE_NS, lambda: f"`{prim.name}` broadcasting shapes {a.shape} and {b.shape} "
                                                   f"into {_elements(n)}")
            return prim.impl(a, b)
        return broadcast2

    def broadcast(*args):
        n = _broadcast_size(*args)
        if n > 4096 and all(n > _size(a) for a in args):
            price(n * 8 * BYTE_NS, lambda: f"`{prim.name}` making {_elements(n)}")
        return prim.impl(*args)
    return broadcast
