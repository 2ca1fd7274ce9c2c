"""The Jupyter kernel, driven by jupyter_client as a notebook would: installed with
`dp kernel install --prefix`, started, cells executed (sharing definitions), errors as
DP diagnostics, completion, inspection with a derivative's source, %time, plots shown
inline, progress as text."""
from __future__ import annotations

import base64
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("ipykernel")
pytest.importorskip("jupyter_client")

from jupyter_client import KernelManager  # noqa: E402
from jupyter_client.kernelspec import KernelSpecManager  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    prefix = tmp_path_factory.mktemp("jupyter")
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    env.pop("NO_COLOR", None)                      # errors are coloured unless the user says not
    out = subprocess.run([sys.executable, "-m", "dp", "kernel", "install", "--prefix", str(prefix)],
                         capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("installed the DP kernel `dp` in ")
    ksm = KernelSpecManager(kernel_dirs=[str(prefix / "share" / "jupyter" / "kernels")])
    assert ksm.get_kernel_spec("dp").argv[1:4] == ["-m", "dp.interpreter.kernel", "-f"]
    work = tmp_path_factory.mktemp("notebook")
    km = KernelManager(kernel_name="dp", kernel_spec_manager=ksm)
    km.start_kernel(env=env, cwd=str(work))
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=120)
    kc.work, kc.manager = work, km
    yield kc
    kc.stop_channels()
    km.shutdown_kernel(now=True)


def run(kc, code: str) -> tuple[dict, list[dict]]:
    """The execute reply's content and the iopub messages of the cell, as (type, content)."""
    msgs = []
    reply = kc.execute_interactive(code, output_hook=lambda m: msgs.append((m["msg_type"], m["content"])),
                                   timeout=120)
    return reply["content"], [(t, c) for t, c in msgs if t not in ("status", "execute_input")]


def streamed(msgs, name="stdout") -> str:
    return "".join(c["text"] for t, c in msgs if t == "stream" and c["name"] == name)


def test_kernel_info(kernel):
    kernel.kernel_info()
    info = kernel.get_shell_msg(timeout=30)["content"]
    assert info["language_info"]["name"] == "dp" and info["language_info"]["file_extension"] == ".dp"
    assert info["implementation"] == "dp"


def test_cells_share_definitions_and_print_their_results(kernel):
    reply, msgs = run(kernel, "fn f(x1: float, x2: float) -> float {\n    return log(x1) + x1 * x2 - sin(x2)\n}\n"
                              "print(\"defined\")")
    assert reply["status"] == "ok" and streamed(msgs) == "defined\n"
    reply, msgs = run(kernel, "grad(f, (0, 1))(2.0, 5.0)")
    assert reply["status"] == "ok"
    [(kind, content)] = [m for m in msgs if m[0] == "execute_result"]
    assert content["data"]["text/plain"] == "(5.5, 1.7163378145367738) : (float, float)"


def test_an_error_is_a_dp_diagnostic(kernel):
    reply, msgs = run(kernel, "let n: int = f(2.0, 5.0)")
    assert reply["status"] == "error"
    assert (reply["ename"], reply["evalue"]) == ("type error", "expected `int`, found `float`")
    [(_, err)] = [m for m in msgs if m[0] == "error"]
    # coloured as on a terminal (Jupyter shows a traceback's ANSI colours): the kind red, the hint cyan
    assert "\x1b[1;31mtype error:\x1b[0m" in err["traceback"][0] and "\x1b[1;36mhint:\x1b[0m" in err["traceback"][3]
    plain = [re.sub(r"\x1b\[[0-9;]*m", "", line) for line in err["traceback"]]
    assert plain[0].endswith(":1:14: type error: expected `int`, found `float`")
    assert plain[1:] == ["   1 | let n: int = f(2.0, 5.0)", "                    ^^^^^^^^^^^",
                         "  hint: convert with `int(...)`"]
    assert "Traceback" not in "\n".join(err["traceback"])
    # the session goes on: what came before is still defined
    reply, msgs = run(kernel, "f(2.0, 5.0)")
    assert [c["data"]["text/plain"] for t, c in msgs if t == "execute_result"] == ["11.652071455223084 : float"]


def test_a_runtime_error_and_the_repl_commands(kernel):
    reply, msgs = run(kernel, "let xs = [1.0]\nprint(xs[3])")
    assert reply["status"] == "error" and reply["ename"] == "runtime error"
    reply, msgs = run(kernel, ":type f")
    assert reply["status"] == "ok" and streamed(msgs) == "f : fn(float, float) -> float\n"


def test_completion_with_types(kernel):
    run(kernel, "struct Ball {\n    pos: float\n    vel: float\n}\nlet ball = Ball { pos: 1.0, vel: 2.0 }\nimport ode")
    kernel.complete("ball.v", 6)
    c = kernel.get_shell_msg(timeout=30)["content"]
    assert (c["matches"], c["cursor_start"], c["cursor_end"]) == (["vel"], 5, 6)
    assert c["metadata"]["_jupyter_types_experimental"][0]["signature"] == "float"
    kernel.complete("ode.rk4", 7)
    c = kernel.get_shell_msg(timeout=30)["content"]
    assert "rk4" in c["matches"] and "rk4_path" in c["matches"]
    kernel.complete("ba", 2)
    c = kernel.get_shell_msg(timeout=30)["content"]
    assert "ball" in c["matches"]


def test_inspection_shows_the_type_and_the_derivative(kernel):
    kernel.inspect("f(2.0, 5.0)", 1, 0)
    c = kernel.get_shell_msg(timeout=30)["content"]
    assert c["found"]
    text = c["data"]["text/plain"]
    assert text.startswith("```dp\nfn f(x1: float, x2: float) -> float\n```\n\ndifferentiable in `x1`, `x2`")
    assert "grad(f), as DP derives it:\n\n```dp\nfn f_grad(x1: float, x2: float) -> float {\n" in text
    kernel.inspect("ball", 2, 0)
    c = kernel.get_shell_msg(timeout=30)["content"]
    assert c["data"]["text/plain"] == "```dp\nball : Ball\n```"


def test_time(kernel):
    reply, msgs = run(kernel, "%time f(2.0, 5.0)")
    assert reply["status"] == "ok"
    assert [c["data"]["text/plain"] for t, c in msgs if t == "execute_result"] == ["11.652071455223084 : float"]
    assert streamed(msgs).startswith("time: ")
    reply, msgs = run(kernel, "%%time\nvar s = 0\nfor i in 0..1000 { s += i }\nprint(s)")
    assert streamed(msgs).startswith("499500\ntime: ")


def test_a_plot_is_shown_under_its_cell(kernel):
    reply, msgs = run(kernel, "let t = linspace(0.0, 1.0, 20)\nplot(t, t * t, \"t²\")")
    assert reply["status"] == "ok"
    [(_, shown)] = [m for m in msgs if m[0] == "display_data"]
    png = base64.b64decode(shown["data"]["image/png"])
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
    reply, msgs = run(kernel, "print(1)")
    assert [m for m in msgs if m[0] == "display_data"] == []          # the figure was shown once
    reply, msgs = run(kernel, "plot([1.0, 0.5, 0.25])\nsavefig(\"loss.png\")")
    assert (kernel.work / "loss.png").read_bytes()[:4] == b"\x89PNG"
    assert [m for m in msgs if m[0] == "display_data"] == []          # saved: not shown again


def test_progress_is_text_in_the_kernel(kernel):
    # long enough (about a second) for the bar to appear, which it does after half a second
    code = "var s = 0.0\nfor i in progress(0..1000) {\n    for j in 0..10000 { s = s + 1.0 }\n}\nprint(s)"
    reply, msgs = run(kernel, code)
    assert reply["status"] == "ok"
    assert streamed(msgs) == "10000000.0\n"
    bar = streamed(msgs, "stderr")
    assert bar.startswith("\r[") and bar.endswith(" left\n")
    assert bar.rsplit("\r", 1)[1].startswith("[##############################] 1000/1000 ")


def test_is_complete(kernel):
    kernel.is_complete("fn f(x: float) -> float {")
    assert kernel.get_shell_msg(timeout=30)["content"]["status"] == "incomplete"
    kernel.is_complete("let x = 1")
    assert kernel.get_shell_msg(timeout=30)["content"]["status"] == "complete"


def test_interrupting_a_cell_keeps_the_session(kernel):
    import time
    msg_id = kernel.execute("var k = 0\nwhile true { k += 1 }")
    time.sleep(1.5)
    kernel.manager.interrupt_kernel()
    while True:
        reply = kernel.get_shell_msg(timeout=60)
        if reply["parent_header"].get("msg_id") == msg_id:
            break
    c = reply["content"]
    assert (c["status"], c["ename"], c["evalue"]) == ("error", "runtime error", "interrupted")
    reply, msgs = run(kernel, "let after = 1\nafter + 1")
    assert [c["data"]["text/plain"] for t, c in msgs if t == "execute_result"] == ["2 : int"]
