"""Differentiation as DP-to-DP transformations.

`Transforms` is a session's registry of derived functions. `grad(f)` on a function
known when the program is checked is derived then: f is put in normal form
(normalize.py), transformed (reverse.py, forward.py), checked like any DP function
and compiled; the call site names the result. A function value known only at run
time is transformed on first use and cached. Derived functions are DP functions, so
every transform accepts them: grad(grad(f)), jvp(grad(f)), jacfwd(jacrev(f))."""
from __future__ import annotations

from .. import generics as G
from .. import primitives as P
from .. import syntax as S
from ..checker import Checker
from ..diagnostics import Diagnostic, DPError
from ..printer import stmt_src
from ..span import NOWHERE
from ..types import FnT
from . import build as B
from .derive import StaticFunctions, derive_program
from .derived import Derived, stamp as _stamp
from .effects import refuse_global_writes
from .forward import Forward
from .normalize import normalize
from .reverse import Reverse
from .specialise import specialise
from .function_values import FunctionDerivatives
from .jacobians import JacobianMaker
from .redefinitions import Redefinitions
from .typing import TransformTyping


class Transforms(TransformTyping, StaticFunctions, JacobianMaker, FunctionDerivatives, Redefinitions):
    def __init__(self, session):
        self.session = session
        self.cache: dict = {}
        self.syms: dict = {}                 # derived name -> Symbol
        self.by_name: dict = {}              # derived name -> Derived
        self.by_code: dict = {}              # Python code object -> FnDef / Lambda
        self.wrappers: dict = {}
        self.specialized: dict = {}          # (function, closure source) -> FnDef
        self.current_env = None              # the env of the program being checked, if any
        self.typer = self.type_call
        self.stale: dict = {}                # stub code -> name of a derivative retired by a redefinition
        self.replaced: dict = {}             # id -> a FnDef a redefinition replaced (redefinitions.py)
        self.remade: dict = {}               # id -> (retired derivative's FnDef, the one made again)

    # ------------------------------------------------------------ environments
    def env(self):
        env = (self.current_env or self.session.env).copy()
        env.values.update({n: s for n, s in self.syms.items() if s is not None})
        return env

    def reserved(self) -> set[str]:
        """Names derived code cannot give its own variables: the globals, the derived
        functions, and the primitives and builtins (derived code calls them by name, so
        a local of that name would hide them)."""
        return set(self.env().values) | set(self.syms) | P.CALLABLE | P.SPECIAL_BUILTINS | G.NAMES

    def unique(self, base: str) -> str:
        taken = self.reserved()
        n, i = base, 2
        while n in taken:
            n, i = f"{base}{i}", i + 1
        return n

    # ------------------------------------------------------------ deriving
    def derive(self, fn: S.FnDef, kind: str, wrt: tuple | None = None, tuple_wrt: bool = False,
               name: str | None = None) -> Derived:
        """kind: "rev" (the pullback: all cotangents for a given seed), "grad", "vg" (value_and_grad),
        "jvp", or "jvp_quiet" (a jvp that runs with effects muted: a Jacobian's second and later
        columns recompute a primal whose output was written already). name: the name a
        retired derivative had (redefinitions.py)."""
        fn = self.current(fn)
        key = (id(fn), kind, wrt, tuple_wrt)
        hit = self.cache.get(key)
        if hit is not None:
            return hit
        source = self.rule_wrapper(fn) if fn.rule is not None else fn
        suffix = {"rev": "rev", "grad": "grad", "vg": "value_and_grad", "jvp": "jvp", "jvp_quiet": "jvp_quiet"}[kind]
        if wrt and kind in ("grad", "vg") and (len(wrt) > 1 or wrt[0] != 0):
            suffix += "_" + "_".join(map(str, wrt))
        active_idx = [i for i, p in enumerate(fn.params) if p.sym.ty.active]
        if kind in ("jvp", "jvp_quiet") and wrt is not None:
            # tangents only for these parameters: the others' are zero, known now
            suffix += "_" + "_".join(map(str, wrt)) if wrt else "_none"
            active_idx = list(wrt)
        out_name = name or self.unique(f"{fn.name}_{suffix}")
        # registered before it is made, so a recursive function's derivative can call itself
        d = Derived(None, kind, fn, active_idx, name=out_name)
        d.wrt, d.tuple_wrt = wrt, tuple_wrt
        self.cache[key] = d
        old_sym = self.syms.get(out_name)
        self.syms[out_name] = _placeholder(fn, kind, out_name, active_idx)
        try:
            derived, rev = self.make(fn, source, kind, wrt, tuple_wrt, out_name)
            d.fn = self.check_fn(derived, register=True)
            if kind in ("grad", "vg"):
                d.fn.gradient_entry = out_name
            d.pyfns = [self.compile_fn(d.fn, fn.span.file)]
            if rev is not None and rev.unbroadcasts_in_loops:
                # broadcasting undone at run time every trip of a loop: derive again for
                # the shapes a call brings, where they decide it (specialise.py)
                specialise(self, d, lambda seeds, name: self.make(fn, source, kind, wrt, tuple_wrt, name, seeds)[0])
        except DPError:
            del self.cache[key]
            self._unregister(out_name, old_sym)
            raise
        except Exception as exc:                                  # noqa: BLE001 — never a traceback
            del self.cache[key]
            self._unregister(out_name, old_sym)
            raise DPError(Diagnostic("differentiation error", f"cannot differentiate `{fn.name}`: {exc}",
                                     fn.span if fn.span is not NOWHERE else None,
                                     "this construct is not differentiable yet; please report it")) from None
        except BaseException:                                     # a stop (timeout, cancel): nothing half-made stays
            del self.cache[key]
            self._unregister(out_name, old_sym)
            raise
        self.by_name[out_name] = d
        return d

    def make(self, fn, source, kind, wrt, tuple_wrt, out_name, seeds=None):
        """The derived FnDef, unchecked, and the Reverse that made it (None for jvp)."""
        if kind in ("rev", "grad", "vg", "jvp_quiet"):
            refuse_global_writes(source, kind, self)
        reserved = self.reserved()
        nf = normalize(source, self.unique(f"{fn.name}_normal"), reserved, self)
        nf = self.check_fn(nf, register=False)
        rev = None
        if kind in ("jvp", "jvp_quiet"):
            derived = Forward(nf, self, reserved | {out_name}, source).run(out_name, wrt)
        else:
            rev = Reverse(nf, self, reserved | {out_name}, seeds)
            rev.tuple_wrt = tuple_wrt
            derived = rev.run(out_name, kind if kind != "vg" else "value_and_grad", list(wrt) if wrt else None)
        _stamp(derived, fn.span)
        derived.quiet = kind in ("rev", "jvp_quiet") or fn.quiet       # a derivative of a recomputation is one
        return derived, rev

    def rule_wrapper(self, fn: S.FnDef) -> S.FnDef:
        """`fn f_with_rule(x) { return f(x) }`: transforming it uses f's declared rule."""
        w = self.wrappers.get(id(fn))
        if w is None:
            params = [S.Param(p.name, B.param_type(p)) for p in fn.params]
            call = S.Call(S.Name(fn.name), [S.Name(p.name) for p in fn.params])
            w = S.FnDef(self.unique(fn.name + "_ruled"), params, B.type_expr(fn.ty.ret), [S.Return(call)], span=fn.span)
            w = self.check_fn(w, register=True)
            self.compile_fn(w, fn.span.file)
            self.wrappers[id(fn)] = w
        return w

    def derive_program(self, body: list[S.Stmt], env) -> None:
        """The derive stage for a checked program (derive.py)."""
        derive_program(self, body, env)

    def check_fn(self, fn: S.FnDef, register: bool) -> S.FnDef:
        """Check a function DP made, then derive what it calls (derived code is complete
        when it leaves here)."""
        env = self.env()
        try:
            Checker(env, self.typer).check_program(S.Program([fn]))
            derive_program(self, [fn], env)
        except DPError as e:
            if e.diagnostics[0].kind == "differentiation error":
                raise                           # of what the derived code calls: the user's to see
            src = stmt_src(fn)
            raise DPError(Diagnostic("internal error", "DP made derived code that does not check: "
                                     + e.diagnostics[0].message, fn.span if fn.span is not NOWHERE else None,
                                     "this is a bug in DP's transforms; the derived code was:\n" + src)) from None
        fn.sym.py = fn.name + "·d"
        fn.checked = True
        if register:
            self.syms[fn.name] = fn.sym
        return fn

    def compile_fn(self, fn: S.FnDef, file: str):
        import ast as py
        compiler = self.session.compiler
        module = compiler.program(S.Program([fn], span=fn.span))
        code = compile(module, file if file != "<generated>" else "<derived>", "exec")
        ns = self.session.runtime.ns
        exec(code, ns)
        raw = ns[fn.sym.py]
        self.by_code[raw.__code__] = fn
        if fn.quiet:
            ns[fn.sym.py] = _muted(raw, self.session.runtime.output)
        self.register_lambdas(compiler)
        _ = py
        return raw

    def _unregister(self, name: str, old_sym) -> None:
        if old_sym is None:
            self.syms.pop(name, None)
        else:
            self.syms[name] = old_sym

    def register_function(self, pyfn, node):
        self.by_code[pyfn.__code__] = node

    def register_lambdas(self, compiler):
        ns = self.session.runtime.ns
        for factory, lam in [(k, v) for k, v in compiler.code_nodes.items() if isinstance(k, str)]:
            f = ns.get(factory)
            if f is None:
                continue
            for c in f.__code__.co_consts:
                if hasattr(c, "co_code") and c.co_name == "lambda":
                    self.by_code[c] = lam

    # ------------------------------------------------------------ what transforms ask
    def user_rule(self, call: S.Call):
        fn = self.static_callee(call)
        if fn is None:
            return None
        return fn[0].rule

    def static_callee(self, call: S.Call):
        """(FnDef, capture args) for a call whose function is known statically."""
        t = call.target
        if t is None:
            return None
        if t[0] == "fn":
            if t[1] is None:
                self._refuse_unfinished(call)
            return (t[1], [])
        if t[0] in ("value", "transform"):
            return self.static_fn_of_expr(call.func)
        return None

    def _refuse_unfinished(self, call: S.Call):
        """call names a derivative still being made (its placeholder symbol): derived code
        that calls it is being differentiated again, a higher order of a function whose
        derivative needs that same higher order of itself (a recursion through grad)."""
        name = call.func.id if isinstance(call.func, S.Name) else "?"
        d = next((d for d in self.cache.values() if d.name == name), None)
        fn = d.source if d is not None else None
        raise DPError(Diagnostic(
            "differentiation error",
            f"`{fn.name if fn else name}` needs a higher derivative of itself while its derivative is being made",
            fn.span if fn is not None and fn.span is not NOWHERE else (call.span if call.span.line else None),
            "a function that reaches its own derivative (through grad, or a library function that takes "
            "its gradient) can be differentiated once, not again: take the higher derivative by hand"))

    def reverse_callee(self, call: S.Call):
        """The name of the reverse function for a call, its extra leading arguments
        (captured values), and which parameters get cotangents; None if only known at
        run time."""
        st = self.static_callee(call)
        if st is None:
            return None, [], []
        fn, caps = st
        d = self.derive(fn, "rev")
        return S.Name(d.name), caps, d.active_idx

    def forward_callee(self, call: S.Call):
        st = self.static_callee(call)
        if st is None:
            return None, []
        fn, caps = st
        return fn, caps

    # ------------------------------------------------------------ printing
    def derived_source(self, name: str, mode: str = "reverse", wrt: int | None = None, name_span=NOWHERE,
                       wrt_span=None) -> str:
        """The derivative of function `name` (`f`, or `optim.adam` from a module) as DP source (source.py)."""
        from .source import derived_source
        return derived_source(self, name, mode, wrt, name_span, wrt_span)


def _muted(f, output):
    """f, run with the program's effects (print) muted: a pullback recomputes a primal
    whose output was written when it first ran."""
    def quiet(*args):
        output.muted += 1
        try:
            return f(*args)
        finally:
            output.muted -= 1
    quiet.wrapped = f
    return quiet


def _placeholder(fn, kind, name, active_idx):
    """The symbol of a derivative being made, typed in advance, so mutually recursive
    functions' derivatives can name each other."""
    from ..symbols import Symbol
    from ..types import TupleT
    params = tuple(fn.ty.params)
    ret = fn.ty.ret
    if kind == "rev":
        ty = FnT(params + (ret,), TupleT(tuple(params[i] for i in active_idx)))
    elif kind in ("jvp", "jvp_quiet"):
        ty = FnT(params + tuple(params[i] for i in active_idx), TupleT((ret, ret)))
    else:
        return None
    return Symbol(name, ty, "fn", name + "·d", is_global=True, decl=None)
