"""DP inside a Python program: load DP code, call its functions and their derivatives
as Python callables, give DP code Python functions as builtins, and run code you do
not trust under limits. See docs/embedding.md.

    from dp.interpreter.embed import Interpreter, DPError
    dp = Interpreter(timeout=1.0)
    dp.load("fn f(x: float, y: float) -> float { return log(x) + x * y - sin(y) }")
    f = dp.function("f")
    f(2.0, 5.0)                       # 11.652...
    dp.grad("f", argnums=(0, 1))(2.0, 5.0)   # (5.5, 1.716...)

Values cross the boundary by the DP types of the function: Python floats, ints,
bools, strings, lists, dicts, tuples and numpy arrays go in and come out; a DP
struct comes out as an object with attributes (`.to_dict()` gives a dict) and goes
in as such an object, a dict, or any object with the right attributes. What comes
out is a copy: changing it never changes a DP value (DP has value semantics).
"""
from __future__ import annotations

import collections
import functools
import itertools
import math
import os
import types
from collections.abc import Mapping

from dp.dsl import lazy_numpy
from dp.dsl import syntax as S
from dp.dsl.checker import Checker, check
from dp.dsl.diagnostics import Diagnostic, DPError, did_you_mean
from dp.dsl.parser import parse
from dp.dsl.symbols import Symbol, py_name
from dp.dsl.types import (BOOL, FLOAT, INT, STRING, TENSOR, UNIT, DefaultDictT, DictT, EnumT, FnT, IntLit, ListT,
                          StructT, TupleT, Type)

from .limits import Guard
from .runtime import DPRuntimeError, Output
from .session import Session
from .values import DPDefaultDict, DPEnum, DPStruct, fn_name, format_value

np = lazy_numpy.module(globals())          # numpy, imported when a program first needs it

__all__ = ["Interpreter", "DPError", "DPFunction", "DPStruct"]


def _argument_error(message: str, hint: str | None = None) -> DPError:
    return DPError(Diagnostic("argument error", message, None, hint))


class _Sink(Output):
    def __init__(self, write):
        self.write = write


class DPFunction:
    """A DP function value as a Python callable. Arguments are converted to the
    function's parameter types, the result back to Python."""

    def __init__(self, interp: "Interpreter", value, ty: FnT, name: str):
        self._interp, self._value, self.type, self.name = interp, value, ty, name
        self._in = [(interp._importer(t), f"argument {i + 1} of `{name}`") for i, t in enumerate(ty.params)]
        self._out = interp._exporter(ty.ret)

    def __call__(self, *args, **kwargs):
        if kwargs:
            raise _argument_error(f"`{self.name}` takes its arguments by position, not by name "
                                  f"({', '.join(kwargs)})", f"its type is `{self.type}`")
        if len(args) != len(self._in):
            n = len(self._in)
            raise _argument_error(f"`{self.name}` takes {n} argument{'s' if n != 1 else ''}, {len(args)} given",
                                  f"its type is `{self.type}`")
        out = self._interp._call(self._value, [conv(a, where) for a, (conv, where) in zip(args, self._in)])
        return out if self._out is None else self._out(out)

    def __repr__(self) -> str:
        return f"<DP function {self.name}: {self.type}>"


class Interpreter:
    """One DP session seen from Python.

    max_steps: stop a program after this many steps (instructions of its compiled code);
    timeout:   stop it after this many seconds of wall-clock time;
    max_depth: stop it when DP calls nest deeper than this;
    stdout:    a callable that receives what `print` writes (default: sys.stdout);
    module_path: directories `import name` may read `name.dp` from, in order. By
               default none: DP code imports only the standard library and reads no
               file of the host's (docs/security.md).
    plot_dir:  the directory `savefig` may write image files in; by default none, and
               `dp.figure()` gives the figure's image instead.
    Each limit ends the program with a DPError; None means no limit. The limits
    can be changed between calls through the attributes of the same names."""

    def __init__(self, *, max_steps: int | None = None, timeout: float | None = None,
                 max_depth: int | None = None, stdout=None, module_path=None, plot_dir=None):
        self.session = Session(_Sink(stdout) if stdout is not None else None)
        if plot_dir is not None:                 # the one directory `savefig` may write images in
            from .plots import FileGrant
            self.session.plots.grant = FileGrant(plot_dir)
        loader = self.session.modules
        loader.allow_files, loader.directories = module_path is not None, _directories(module_path)
        session = self.session
        self._guard = Guard(session.runtime.meter, session.sources, lambda: session.compiler.compiled_unmetered)
        session.guard = self._guard
        session.preload()                             # no import happens inside a limit
        session.interrupts_as_errors = False          # Ctrl-C reaches Python as KeyboardInterrupt
        self.max_steps, self.timeout, self.max_depth = max_steps, timeout, max_depth
        self._names = itertools.count()

    # ------------------------------------------------------------------ limits
    @property
    def max_steps(self) -> int | None:
        return self._guard.max_steps

    @max_steps.setter
    def max_steps(self, n: int | None) -> None:
        self._guard.max_steps = _positive(n, "max_steps")
        if n is not None:
            self.session.metered = True               # code compiled from now on counts its steps

    @property
    def timeout(self) -> float | None:
        return self._guard.timeout

    @timeout.setter
    def timeout(self, seconds: float | None) -> None:
        self._guard.timeout = _positive(seconds, "timeout")
        if seconds is not None:
            self.session.metered = True               # … and prices its big calls

    @property
    def max_depth(self) -> int | None:
        return self.session.max_depth

    @max_depth.setter
    def max_depth(self, n: int | None) -> None:
        self.session.max_depth = _positive(n, "max_depth")

    def cancel(self) -> bool:
        """Stop the DP program running now (call it from another thread). It ends
        with a DPError "cancelled". Returns False if nothing was running."""
        return self._guard.cancel()

    # ------------------------------------------------------------------ loading and evaluating
    def load(self, source: str, file: str | None = None) -> None:
        """Run DP source: its definitions join this interpreter's globals."""
        _source_text(source, "load")
        self._guard.run(lambda: self.session.run(source, file))

    def load_file(self, path: str) -> None:
        """Run a .dp file; errors name the file."""
        from .files import read_source
        try:
            text = read_source(path)
        except OSError as e:
            raise _argument_error(f"cannot read {path}: {e.strerror or e}") from None
        self.load(text, str(path))

    def eval(self, source: str):
        """The value of a DP expression, as a Python value (None for statements)."""
        _source_text(source, "eval")
        result = self._guard.run(lambda: self.session.run(source))
        return None if result.type is None else self._to_py(result.value, result.type)

    def type_of(self, source: str) -> str:
        """The DP type of an expression, without running it."""
        prog, _ = self.session.check_text(source, f"<type {next(self._names)}>")
        if len(prog.body) != 1 or not isinstance(prog.body[0], S.ExprStmt):
            raise _argument_error("`type_of` takes one expression")
        return str(prog.body[0].expr.ty)

    def figure(self, fmt: str = "png") -> bytes | None:
        """The image (png, svg or pdf bytes) of what the program plotted and has not
        saved, or None; the next `plot` starts a new figure."""
        if fmt not in ("png", "svg", "pdf"):
            raise _argument_error(f"`figure` makes png, svg or pdf images, not {fmt!r}")
        try:
            return self.session.plots.take(fmt)
        except DPRuntimeError as e:                  # matplotlib is missing
            raise DPError(Diagnostic("runtime error", e.message, None, e.hint)) from None

    def __contains__(self, name: str) -> bool:
        return name in self.session.env.values

    # ------------------------------------------------------------------ functions
    def function(self, name: str) -> DPFunction:
        """A global DP function (or global function value) as a Python callable."""
        sym = self._function_symbol(name)
        return DPFunction(self, self.session.runtime.ns[sym.py], sym.ty, name)

    def grad(self, name: str, argnums: int | tuple[int, ...] = 0) -> DPFunction:
        """d name / d argument(s): a callable returning the gradient, which has the
        type of the argument (a tuple of gradients when argnums is a tuple)."""
        return self._transform("grad", name, argnums)

    def value_and_grad(self, name: str, argnums: int | tuple[int, ...] = 0) -> DPFunction:
        """A callable returning (value, gradient)."""
        return self._transform("value_and_grad", name, argnums)

    def jvp(self, name: str):
        """A callable `(primals, tangents) -> (value, tangent)`: forward mode. With one
        parameter, primals and tangents may be bare values instead of 1-tuples."""
        ft = self._function_symbol(name).ty
        n = len(ft.params)
        params = [(f"p{i}", t) for i, t in enumerate(ft.params)] + [(f"t{i}", t) for i, t in enumerate(ft.params)]
        if n == 1:
            body = f"jvp({name}, p0, t0)"
        else:
            body = f"jvp({name}, ({', '.join(f'p{i}' for i in range(n))}), ({', '.join(f't{i}' for i in range(n))}))"
        inner = self._lambda(f"jvp_{name}", params, body)

        def jvp(primals, tangents):
            if n == 1 and not (isinstance(primals, tuple) and len(primals) == 1 and not isinstance(ft.params[0], TupleT)):
                primals, tangents = (primals,), (tangents,)
            for what, given in (("primals", primals), ("tangents", tangents)):
                if not isinstance(given, (tuple, list)) or len(given) != n:
                    example = f"({', '.join('1.0' for _ in range(n))})"
                    raise _argument_error(f"the jvp of `{name}` takes a tuple of {n} {what}, got {type(given).__name__} "
                                          f"{_short(given)}",
                                          f"`{name}` has {n} parameter{'s' if n != 1 else ''}: call it as "
                                          f"jvp(primals, tangents), e.g. jvp({example}, {example})")
            return inner(*primals, *tangents)
        jvp.__name__ = f"jvp_{name}"
        return jvp

    def vjp(self, name: str) -> DPFunction:
        """A callable `(*primals) -> (value, pullback)`; `pullback(y_bar)` returns the
        cotangents (a tuple when the function has several parameters)."""
        ft = self._function_symbol(name).ty
        params = [(f"p{i}", t) for i, t in enumerate(ft.params)]
        return self._lambda(f"vjp_{name}", params, f"vjp({name}, {', '.join(p for p, _ in params)})")

    def _transform(self, kind: str, name: str, argnums) -> DPFunction:
        self._function_symbol(name)
        if isinstance(argnums, int) and not isinstance(argnums, bool):
            sel = "" if argnums == 0 else f", {argnums}"
        elif isinstance(argnums, (tuple, list)) and argnums and all(isinstance(i, int) for i in argnums):
            sel = ", (" + ", ".join(map(str, argnums)) + ("," if len(argnums) == 1 else "") + ")"
        else:
            raise _argument_error(f"argnums is an int or a tuple of ints, not {argnums!r}")
        result = self._guard.run(lambda: self.session.run(f"{kind}({name}{sel})", f"<{kind} {next(self._names)}>"))
        return DPFunction(self, result.value, result.type, f"{kind}({name}{sel})")

    def _lambda(self, label: str, params: list[tuple[str, Type]], body: str) -> DPFunction:
        """`fn(params) -> R { return body }` as a callable, R found by the checker."""
        env = self.session.env.copy()
        for p, t in params:
            env.values[p] = Symbol(p, t, "let", py_name(p), is_global=True)
        file = f"<{label} {next(self._names)}>"
        self.session.sources.add(file, body)
        prog = parse(body, file)
        try:
            check(prog, env, self.session.typer)
        except DPError as e:
            raise self.session.sources.quote(e) from None
        ret = prog.body[0].expr.ty
        src = (f"fn({', '.join(f'{p}: {t}' for p, t in params)}) -> {ret} {{\n"
               f"    return {body}\n}}")
        result = self._guard.run(lambda: self.session.run(src, f"<{label} {next(self._names)}>"))
        return DPFunction(self, result.value, result.type, label)

    def _function_symbol(self, name: str) -> Symbol:
        sym = self.session.env.values.get(name)
        if sym is None:
            fns = [n for n, s in self.session.env.values.items() if isinstance(s.ty, FnT) and not n.startswith("__")]
            raise _argument_error(f"no function named `{name}`", did_you_mean(name, fns))
        if not isinstance(sym.ty, FnT):
            raise _argument_error(f"`{name}` is a `{sym.ty}`, not a function")
        return sym

    def _call(self, fn, args: list):
        return self._guard.run(lambda: self.session.call_value(fn, *args))

    # ------------------------------------------------------------------ structs
    def struct(self, name: str, fields: Mapping | None = None, **kw) -> DPStruct:
        """A value of the DP struct `name`, from a dict and/or keyword arguments."""
        st = self.session.env.structs.get(name)
        if st is None:
            raise _argument_error(f"no struct named `{name}`")
        given = dict(fields or {}, **kw)
        return self._to_dp(given, st, f"`{name}`")

    # ------------------------------------------------------------------ host functions
    def register(self, name: str, fn, type: str, derivative=None) -> None:
        """Make the Python callable fn a DP function `name` of the DP type `type`
        (e.g. "fn(float, float) -> float"). DP code calls it like any function; its
        arguments arrive as Python values, its result is checked against the type.

        derivative (for functions of floats returning a float): a callable taking
        the same arguments and returning the partial derivatives (a float, or a
        tuple with one per parameter). With it `grad` and `jvp` see through fn, by
        a DP derivative rule (`derivative name(x) -> y { ... }`)."""
        ft = self._parse_type(type)
        if not isinstance(ft, FnT):
            raise _argument_error(f"`{type}` is not a function type", 'write e.g. "fn(float) -> float"')
        if not name.isidentifier() or name.startswith("__"):
            raise _argument_error(f"`{name}` cannot be a DP function name")
        host = f"__py_{name}"
        values = self.session.env.values
        before = {n: values.get(n) for n in [host] + [f"__py_{name}_d{i}" for i in range(len(ft.params))]}
        try:
            self._register(name, fn, ft, derivative, host)
        except BaseException:                    # refused (it would break a function that calls it): as before
            for n, sym in before.items():
                if sym is None:
                    values.pop(n, None)
                else:
                    values[n] = sym
            raise

    def _register(self, name, fn, ft, derivative, host) -> None:
        self._define_host(host, self._host_callable(name, fn, ft), ft)
        params = [f"x{i}" for i in range(len(ft.params))]
        sig = ", ".join(f"{p}: {t}" for p, t in zip(params, ft.params))
        call = f"{host}({', '.join(params)})"
        if ft.ret == UNIT:
            src = f"fn {name}({sig}) {{\n    {call}\n}}\n"
        else:
            src = f"fn {name}({sig}) -> {ft.ret} {{\n    return {call}\n}}\n"
        if derivative is not None:
            if ft.ret != FLOAT or any(t != FLOAT for t in ft.params) or not ft.params:
                raise _argument_error("a Python derivative can be given for functions of floats that return a float",
                                      f"`{name}` has type `{ft}`")
            part = []                              # one host function per partial derivative
            for i in range(len(params)):
                d = derivative if len(params) == 1 else (lambda *a, i=i: derivative(*a)[i])
                dname = f"__py_{name}_d{i}"
                self._define_host(dname, self._host_callable(f"the derivative of {name}", d, FnT(ft.params, FLOAT)),
                                  FnT(ft.params, FLOAT))
                part.append(f"{dname}({', '.join(params)})")
            args = ", ".join(params)
            clauses = [f"    {p}_bar = y_bar * {d}" for p, d in zip(params, part)]
            clauses.append("    y_dot = " + " + ".join(f"{d} * {p}_dot" for p, d in zip(params, part)))
            src += f"derivative {name}({args}) -> y {{\n" + "\n".join(clauses) + "\n}\n"
        self.load(src, f"<register {name}>")

    def _define_host(self, name: str, fn, ft: FnT) -> None:
        # a Python name of its own each time: a function registered again, with another
        # type, never reaches code compiled to call the one registered before
        sym = Symbol(name, ft, "let", f"{name}·py{next(self._names)}", is_global=True)
        self.session.runtime.ns[sym.py] = fn
        self.session.env.values[name] = sym

    def _host_callable(self, name: str, fn, ft: FnT):
        """fn as a function DP code can call: Python values in, a checked DP value out."""
        to_py, ptypes = self._to_py, ft.params
        simple = all(t in (FLOAT, INT, BOOL, STRING) for t in ptypes)
        result, where = self._importer(ft.ret), f"the result of `{name}`"

        def host(*args):
            py_args = args if simple else [to_py(a, t) for a, t in zip(args, ptypes)]
            try:
                out = fn(*py_args)
            except (DPError, DPRuntimeError):
                raise
            except Exception as e:                              # noqa: BLE001 — the host's error, told as DP's
                raise DPRuntimeError(f"the Python function `{name}` raised {type(e).__name__}: {e}") from None
            try:
                return result(out, where)
            except DPError as e:
                raise DPRuntimeError(e.message, e.first.hint) from None
        host.__name__ = name
        return host

    def _parse_type(self, text: str) -> Type:
        try:
            annot = parse(f"let t: {text} = 0", "<type>").body[0].annot
        except DPError:
            raise _argument_error(f"`{text}` is not a DP type", 'write e.g. "fn(float, list[float]) -> float"') from None
        checker = Checker(self.session.env.copy())
        t = checker.resolve_type(annot)
        if checker.errors:
            raise DPError(checker.errors)
        return t

    # ------------------------------------------------------------------ Python → DP
    def _importer(self, t: Type):
        """A function (value, where) -> DP value of type t."""
        scalar = _SCALAR_IN.get(t)
        return scalar if scalar is not None else (lambda v, where: self._to_dp(v, t, where))

    def _to_dp(self, v, t: Type, where: str):
        def bad(expected=None):
            return _argument_error(f"{where}: expected `{expected or t}`, got {type(v).__name__} {_short(v)}")
        scalar = _SCALAR_IN.get(t if not isinstance(t, IntLit) else INT)
        if scalar is not None:
            return scalar(v, where)
        if t == UNIT:
            if v is not None and v != ():
                raise bad()
            return None
        if t == TENSOR:
            # numbers only: numpy would also take None (nan), "3" (3.0) and complex
            # values (dropping the imaginary part)
            if v is None or isinstance(v, (str, bytes)):
                raise bad()
            try:                              # a ragged list is a ValueError of numpy's
                src = v if isinstance(v, np.ndarray) else np.asarray(v) if not isinstance(v, (int, float)) else None
                if src is not None and src.dtype.kind not in "biuf":
                    raise bad()
                a = np.array(v, dtype=np.float64)
            except (TypeError, ValueError, OverflowError):
                raise bad() from None
            return a
        if isinstance(t, ListT):
            if isinstance(v, (str, bytes, Mapping)) or not hasattr(v, "__iter__"):
                raise bad()
            return [self._to_dp(x, t.elem, f"{where}[{i}]") for i, x in enumerate(v)]
        if isinstance(t, DefaultDictT):
            # its default is the value's, not the type's: one DP made, or a Python
            # defaultdict whose factory gives a value of the value type
            if isinstance(v, DPDefaultDict):
                factory = v.factory
            elif isinstance(v, collections.defaultdict) and v.default_factory is not None:
                made = v.default_factory
                factory = functools.partial(self._to_dp, made(), t.value, f"the default of {where}")
                factory()                             # checked now, not at the first missing key
            else:
                raise bad()
            return DPDefaultDict(factory, {self._to_dp(k, t.key, f"a key of {where}"):
                                           self._to_dp(x, t.value, f"{where}[{k!r}]") for k, x in v.items()})
        if isinstance(t, DictT):
            if not isinstance(v, Mapping):
                raise bad()
            return {self._to_dp(k, t.key, f"a key of {where}"): self._to_dp(x, t.value, f"{where}[{k!r}]")
                    for k, x in v.items()}
        if isinstance(t, TupleT):
            if not isinstance(v, (tuple, list)) or len(v) != len(t.items):
                raise bad()
            return tuple(self._to_dp(x, it, f"{where}.{i}") for i, (x, it) in enumerate(zip(v, t.items)))
        if isinstance(t, StructT):
            return self._struct_to_dp(v, t, where)
        if isinstance(t, EnumT):
            ec = self.session.runtime.enum_class(t)
            if isinstance(v, DPEnum) and v.enum.type is t and ec.tags.get(v.name) == v.tag:
                payload = t.variants[v.name]
                if not payload:
                    return ec.members[v.name]
                if not isinstance(v.vals, tuple) or len(v.vals) != len(payload):
                    raise bad()
                # rebuilt from its payload, each value checked: a DPEnum is an object
                # Python can change, and DP trusts a value's type
                return ec.members[v.name](*(self._to_dp(x, pt, f"{where}.{v.name}({i})")
                                            for i, (x, pt) in enumerate(zip(v.vals, payload))))
            if isinstance(v, str) and isinstance(ec.members.get(v), DPEnum):
                return ec.members[v]
            raise bad()
        if isinstance(t, FnT):
            if isinstance(v, DPFunction) and v._interp is self and v.type == t:
                return v._value                    # of this very type: DP calls it directly
            if callable(v):
                name = getattr(v, "__name__", None)
                return self._host_callable(name if isinstance(name, str) else "a function", v, t)
            raise bad()
        raise _argument_error(f"{where}: values of type `{t}` cannot come from Python")

    def _struct_to_dp(self, v, st: StructT, where: str):
        cls = self.session.runtime.struct_class(st)
        names = list(st.fields)
        if isinstance(v, DPStruct) and type(v).__name__ != st.name:
            raise _argument_error(f"{where}: expected `{st.name}`, got a `{type(v).__name__}`")
        if not isinstance(v, (DPStruct, Mapping)) and not _may_hold_fields(v):
            # a string's `format`, a list's `pop`, a module's functions: never DP fields
            raise _mismatch(v, where, st)
        if isinstance(v, Mapping):
            get, have = v.__getitem__, set(v)
            extra = have - set(names)
            if extra:
                raise _argument_error(f"{where}: `{st.name}` has no field {', '.join('`' + str(e) + '`' for e in sorted(extra, key=str))}",
                                      f"its fields are {', '.join(names)}")
        else:
            get = lambda f: getattr(v, f)          # noqa: E731
            have = {f for f in names if hasattr(v, f)}
        missing = [f for f in names if f not in have]
        if missing:
            raise _argument_error(f"{where}: missing field{'s' if len(missing) > 1 else ''} "
                                  f"{', '.join('`' + m + '`' for m in missing)} of `{st.name}`",
                                  f"a `{st.name}` has fields {', '.join(names)}")
        return cls(*(self._to_dp(get(f), ft, f"{where}.{f}") for f, ft in st.fields.items()))

    # ------------------------------------------------------------------ DP → Python
    def _exporter(self, t: Type):
        """A function DP value of type t -> Python value, or None when it is the value itself."""
        if t in (FLOAT, INT, BOOL, STRING, UNIT) or isinstance(t, IntLit):
            return None
        if isinstance(t, EnumT) and not any(t.variants.values()):
            return None
        return lambda v: self._to_py(v, t)

    def _to_py(self, v, t: Type):
        if t in (FLOAT, INT, BOOL, STRING, UNIT) or isinstance(t, IntLit):
            return v
        if t == TENSOR:
            return np.array(v)
        if isinstance(t, ListT):
            return [self._to_py(x, t.elem) for x in v]
        if isinstance(t, DictT):
            return {k: self._to_py(x, t.value) for k, x in v.items()}
        if isinstance(t, TupleT):
            return tuple(self._to_py(x, it) for x, it in zip(v, t.items))
        if isinstance(t, StructT):
            cls = self.session.runtime.struct_class(t)
            return cls(*(self._to_py(getattr(v, a), ft) for a, ft in zip(cls.__slots__, t.fields.values())))
        if isinstance(t, FnT):
            return DPFunction(self, v, t, fn_name(v))
        if isinstance(t, EnumT) and v.vals:        # a copy of the payload, as for every aggregate
            payload = t.variants[v.name]
            return DPEnum(v.enum, v.tag, v.name, tuple(self._to_py(x, pt) for x, pt in zip(v.vals, payload)))
        return v                                   # a plain variant: one immutable value


_NOT_STRUCTS = (str, bytes, bytearray, memoryview, int, float, complex, list, tuple, set, frozenset, range, slice,
                np.ndarray, np.generic, type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType,
                types.MethodType, functools.partial)


def _may_hold_fields(v) -> bool:
    """Whether a struct may be read from v's attributes: an object of a class of the
    embedder's (a dataclass, a namedtuple, a SimpleNamespace, …), never a value of
    Python's own types or DP's runtime objects, whose attributes are their methods."""
    if isinstance(v, tuple) and hasattr(type(v), "_fields"):
        return True                                       # a namedtuple
    if isinstance(v, _NOT_STRUCTS) or isinstance(v, (DPFunction, DPEnum, Interpreter)):
        return False
    return type(v).__module__ != "builtins"


def _mismatch(v, where: str, t: Type) -> DPError:
    return _argument_error(f"{where}: expected `{t}`, got {type(v).__name__} {_short(v)}")


def _float_in(v, where):
    if type(v) is float:
        return v
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer, np.floating)):
        raise _mismatch(v, where, FLOAT)
    try:
        return float(v)
    except OverflowError:
        raise _argument_error(f"{where}: {_short(v)} is too large for a float") from None


def _int_in(v, where):
    if type(v) is int:
        return v
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
        raise _mismatch(v, where, INT)
    return int(v)


def _bool_in(v, where):
    if not isinstance(v, (bool, np.bool_)):
        raise _mismatch(v, where, BOOL)
    return bool(v)


def _str_in(v, where):
    if type(v) is str:
        return v
    if not isinstance(v, str):
        raise _mismatch(v, where, STRING)
    return str.__str__(v)                      # a plain str: a subclass's methods stay outside


_SCALAR_IN = {FLOAT: _float_in, INT: _int_in, BOOL: _bool_in, STRING: _str_in}


def _directories(paths) -> list[str]:
    if paths is None:
        return []
    if isinstance(paths, (str, bytes, os.PathLike)) or not hasattr(paths, "__iter__"):
        raise ValueError(f"module_path must be a list of directories, not {paths!r}")
    paths = list(paths)
    if not all(isinstance(p, (str, os.PathLike)) for p in paths):
        raise ValueError(f"module_path must be a list of directories, not {paths!r}")
    return [os.path.abspath(os.fspath(p)) for p in paths]     # fixed now: a later chdir changes nothing


def _positive(x, what: str):
    if x is None:
        return None
    if isinstance(x, bool) or not isinstance(x, (int, float)) or not x > 0 or (isinstance(x, float) and math.isinf(x)) \
            or x > 2 ** 62:                    # the step counter and the clock hold 64 bits
        raise ValueError(f"{what} must be a positive number (at most 2**62) or None, not {x!r}")
    return x


def _source_text(source, method: str) -> None:
    if not isinstance(source, str):
        raise _argument_error(f"`{method}` takes DP source as a str, not {type(source).__name__}",
                              "decode bytes first: source.decode('utf-8')" if isinstance(source, bytes) else None)


def _short(v) -> str:
    try:
        s = format_value(v, False) if not isinstance(v, np.ndarray) else repr(v)
    except Exception:                                # noqa: BLE001 — never the host object's own repr
        s = "<value>"
    return s if len(s) <= 40 else s[:37] + "..."
