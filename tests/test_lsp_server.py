"""`dp lsp` driven over stdio by a real LSP client (pytest-lsp, on pygls): open, change,
diagnostics, hover, definition across `import`, references, completion, signature
help, symbols, rename, formatting, code lenses, inlay hints and "Show derivative"."""
from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("pygls")
pytest_lsp = pytest.importorskip("pytest_lsp")

from lsprotocol import types as T  # noqa: E402
from pytest_lsp import ClientServerConfig, LanguageClient  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.asyncio(loop_scope="module")

PHYSICS = textwrap.dedent("""\
    # a module beside the program
    struct Ball {
        pos: float
        vel: float
    }

    fn height(b: Ball, t: float) -> float {
        return b.pos + b.vel * t - 4.905 * t * t
    }
    """)

MAIN = textwrap.dedent("""\
    import physics
    import ode

    fn energy(b: physics.Ball, k: float) -> float {
        let kinetic = 0.5 * b.vel * b.vel
        let n = 3
        var total = kinetic
        for i in 0..n {
            total = total + k * b.pos * b.pos
        }
        return total
    }

    let b = physics.Ball { pos: 1.0, vel: 2.0 }
    print(physics.height(b, 0.5), energy(b, 2.0))
    """)


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    d = tmp_path_factory.mktemp("project")
    (d / "physics.dp").write_text(PHYSICS)
    (d / "main.dp").write_text(MAIN)
    return d


ENV = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}


@pytest_lsp.fixture(scope="module",
                    config=ClientServerConfig(server_command=[sys.executable, "-m", "dp", "lsp"],
                                              server_env=ENV))
async def client(lsp_client: LanguageClient):
    lsp_client.initialized_with = await lsp_client.initialize_session(T.InitializeParams(
        capabilities=pytest_lsp.client_capabilities("visual-studio-code")))
    yield
    await lsp_client.shutdown_session()


def uri(path: Path) -> str:
    return path.resolve().as_uri()


async def open_doc(client, path: Path, text: str | None = None) -> list[T.Diagnostic]:
    text = path.read_text() if text is None else text
    client.text_document_did_open(T.DidOpenTextDocumentParams(T.TextDocumentItem(uri(path), "dp", 1, text)))
    await client.wait_for_notification(T.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    return list(client.diagnostics[uri(path)])


async def change(client, path: Path, version: int, text: str) -> list[T.Diagnostic]:
    client.text_document_did_change(T.DidChangeTextDocumentParams(
        T.VersionedTextDocumentIdentifier(version, uri(path)),
        [T.TextDocumentContentChangeWholeDocument(text)]))
    await client.wait_for_notification(T.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    return list(client.diagnostics[uri(path)])


def at(path, line, character):
    return T.TextDocumentIdentifier(uri(path)), T.Position(line, character)


async def test_a_clean_file_has_no_diagnostics_and_its_capabilities(client: LanguageClient, project):
    assert await open_doc(client, project / "main.dp") == []
    caps = client.initialized_with.capabilities
    assert caps.hover_provider and caps.definition_provider and caps.references_provider
    assert list(caps.completion_provider.trigger_characters) == ["."]
    assert list(caps.workspace.text_document_content.schemes) == ["dp-derivative"]
    assert list(caps.execute_command_provider.commands) == ["dp.showDerivative"]


async def test_diagnostics_as_you_type(client: LanguageClient, project):
    path = project / "scratch.dp"
    path.write_text("")
    assert await open_doc(client, path, "fn f(x: float) -> float { return x }\n") == []
    # a type error, with its hint
    diags = await change(client, path, 2, "fn f(x: float) -> float { return x }\nlet n: int = f(2.0)\n")
    assert [(d.range.start.line, d.range.start.character, d.range.end.character, d.code) for d in diags] == \
        [(1, 13, 19, "type error")]
    assert diags[0].message == "expected `int`, found `float`\nhint: convert with `int(...)`"
    # a syntax error while typing
    diags = await change(client, path, 3, "fn f(x: float) -> float { return x *\n")
    assert [d.code for d in diags] == ["syntax error"]
    assert diags[0].message.startswith("unexpected end of input")
    # a differentiation error: grad of a function whose result is not a float
    diags = await change(client, path, 4, "fn f(x: float) -> int { return 1 }\nlet g = grad(f)\n")
    assert [(d.range.start.line, d.code) for d in diags] == [(1, "type error")]
    assert diags[0].message.startswith("`grad` needs a function that returns a `float`, and this one returns `int`")
    # an error the transforms find: shown once the text has been still for a moment
    diags = await change(client, path, 5, "fn f(x: float) -> float { return x * x }\n"
                                          "derivative f(x) -> y { y_dot = 2.0 * x * x_dot }\nlet g = grad(f)\n")
    assert diags == []
    await client.wait_for_notification(T.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    diags = list(client.diagnostics[uri(path)])
    assert [(d.range.start.line, d.code) for d in diags] == [(1, "differentiation error")]     # at the rule
    assert diags[0].message.startswith("the derivative rule for `f` gives no `x_bar`, which reverse mode needs here")
    # a missing module: the import line says where DP looked
    diags = await change(client, path, 6, "import nosuch\n")
    assert [(d.range.start.line, d.code) for d in diags] == [(0, "import error")]
    assert "no module named `nosuch`" in diags[0].message and "hint: " in diags[0].message
    # fixed again
    assert await change(client, path, 7, "let x = 1.0\n") == []


async def test_an_error_in_an_imported_module_is_shown_at_the_import(client: LanguageClient, project):
    (project / "broken.dp").write_text("fn h(x: float) -> int {\n    return x\n}\n")
    path = project / "uses_broken.dp"
    [d] = await open_doc(client, path, "let y = 1.0\nimport broken\n")
    assert (d.range.start.line, d.range.start.character, d.range.end.character, d.code) == (1, 0, 13, "type error")
    assert d.message.startswith(f"in module `broken` ({(project / 'broken.dp').resolve()}), imported here: "
                                "type error: expected `int`, found `float`")
    [r] = d.related_information
    assert (r.location.uri, r.location.range.start.line, r.location.range.start.character) == \
        (uri(project / "broken.dp"), 1, 11)


async def test_hover_shows_types_and_differentiability(client: LanguageClient, project):
    main = project / "main.dp"
    await open_doc(client, main)
    h = await client.text_document_hover_async(T.HoverParams(*at(main, 3, 4)))      # `energy`
    assert h.contents.value.split("\n\n") == [
        "```dp\nfn energy(b: physics.Ball, k: float) -> float\n```",
        "differentiable in `b`, `k`",
        "`grad(energy)` : `fn(physics.Ball, float) -> physics.Ball`",
        "`jvp`, `vjp` and `value_and_grad` apply (the result `float` carries derivatives)"]
    h = await client.text_document_hover_async(T.HoverParams(*at(main, 4, 9)))      # `kinetic`
    assert h.contents.value.split("\n\n") == [
        "```dp\nlet kinetic: float\n```",
        "constant of `energy` · carries a derivative: it depends on `b`, and the result depends on it"]
    h = await client.text_document_hover_async(T.HoverParams(*at(main, 5, 8)))      # `n`
    assert "let n: int" in h.contents.value and "`int` values carry none" in h.contents.value
    h = await client.text_document_hover_async(T.HoverParams(*at(main, 14, 16)))    # `height`, from the module
    assert h.contents.value.startswith("```dp\nfn height(b: physics.Ball, t: float) -> float\n```")
    assert h.contents.value.endswith(f"defined in `{(project / 'physics.dp').resolve()}`")
    assert "`grad(height)` : `fn(physics.Ball, float) -> physics.Ball`" in h.contents.value
    h = await client.text_document_hover_async(T.HoverParams(*at(main, 4, 27)))     # `b.vel`'s field
    assert h.contents.value.startswith("```dp\nphysics.Ball.vel: float\n```")
    h = await client.text_document_hover_async(T.HoverParams(*at(main, 4, 22)))     # the `*` of an expression
    assert h.contents.value == "```dp\n0.5 * b.vel : float\n```"


async def test_definition_across_import(client: LanguageClient, project):
    main = project / "main.dp"
    await open_doc(client, main)
    [loc] = await client.text_document_definition_async(T.DefinitionParams(*at(main, 14, 16)))   # height
    assert (loc.uri, loc.range.start.line, loc.range.start.character, loc.range.end.character) == \
        (uri(project / "physics.dp"), 6, 3, 9)
    [loc] = await client.text_document_definition_async(T.DefinitionParams(*at(main, 3, 22)))    # Ball
    assert (loc.uri, loc.range.start.line, loc.range.start.character) == (uri(project / "physics.dp"), 1, 7)
    [loc] = await client.text_document_definition_async(T.DefinitionParams(*at(main, 8, 33)))    # b.pos
    assert (loc.uri, loc.range.start.line, loc.range.start.character) == (uri(project / "physics.dp"), 2, 4)
    [loc] = await client.text_document_definition_async(T.DefinitionParams(*at(main, 8, 20)))    # total
    assert (loc.uri, loc.range.start.line, loc.range.start.character) == (uri(main), 6, 8)
    [loc] = await client.text_document_definition_async(T.DefinitionParams(*at(main, 1, 8)))     # import ode
    assert loc.uri.endswith("/stdlib/ode.dp")


async def test_references_across_import(client: LanguageClient, project):
    main = project / "main.dp"
    await open_doc(client, main)
    doc, pos = at(main, 13, 20)                                                         # Ball in `physics.Ball {`
    refs = await client.text_document_references_async(T.ReferenceParams(
        text_document=doc, position=pos, context=T.ReferenceContext(include_declaration=True)))
    got = sorted((r.uri.rsplit("/", 1)[1], r.range.start.line) for r in refs)
    assert got == [("main.dp", 3), ("main.dp", 13), ("physics.dp", 1), ("physics.dp", 6)]
    doc, pos = at(main, 6, 9)                                                           # total
    refs = await client.text_document_references_async(T.ReferenceParams(
        text_document=doc, position=pos, context=T.ReferenceContext(include_declaration=False)))
    assert sorted(r.range.start.line for r in refs) == [8, 8, 10]


async def test_completion_names_fields_methods_and_module_members(client: LanguageClient, project):
    path = project / "complete.dp"
    text = textwrap.dedent("""\
        import physics
        fn f(b: physics.Ball, xs: list[float]) -> float {
            let speed = b.vel
            return speed
        }
        """)
    await open_doc(client, path, text)

    async def labels(line, character):
        r = await client.text_document_completion_async(T.CompletionParams(*at(path, line, character)))
        return {i.label: i.detail for i in r.items}
    # what is in scope inside f, with types
    text2 = text.replace("    return speed\n", "    return spe\n")
    await change(client, path, 2, text2)
    got = await labels(3, 14)
    assert got == {"speed": "float"}
    # a struct's fields after `.`: the file does not parse while the member is missing
    await change(client, path, 3, text.replace("    return speed\n", "    return b.\n"))
    assert await labels(3, 13) == {"pos": "float", "vel": "float"}
    # a list's methods, with their types
    await change(client, path, 4, text.replace("    return speed\n", "    xs.\n    return speed\n"))
    got = await labels(3, 7)
    assert got["append"] == "fn(float) -> ()" and got["pop"] == "fn() -> float" and len(got) == 5
    # a module's members
    await change(client, path, 5, text.replace("    return speed\n", "    return physics.h\n"))
    assert await labels(3, 20) == {"height": "fn(physics.Ball, float) -> float"}
    # builtins, with their signatures
    await change(client, path, 6, text.replace("    return speed\n", "    return sq\n"))
    assert await labels(3, 13) == {"sqrt": "sqrt(x: float) -> float  ·  sqrt(x: tensor) -> tensor"}


async def test_signature_help(client: LanguageClient, project):
    path = project / "sig.dp"
    text = "fn mix(a: float, n: int) -> float { return a }\nlet y = mix(1.0, \n"
    await open_doc(client, path, "fn mix(a: float, n: int) -> float { return a }\n")
    await change(client, path, 2, text)
    s = await client.text_document_signature_help_async(T.SignatureHelpParams(*at(path, 1, 17)))
    assert s.signatures[0].label == "fn mix(a: float, n: int) -> float"
    assert [p.label for p in s.signatures[0].parameters] == ["a: float", "n: int"]
    assert s.active_parameter == 1


async def test_document_symbols(client: LanguageClient, project):
    await open_doc(client, project / "physics.dp")
    syms = await client.text_document_document_symbol_async(
        T.DocumentSymbolParams(T.TextDocumentIdentifier(uri(project / "physics.dp"))))
    assert [(s.name, s.kind) for s in syms] == [("Ball", T.SymbolKind.Struct), ("height", T.SymbolKind.Function)]
    assert [c.name for c in syms[0].children] == ["pos", "vel"]
    assert syms[1].detail == "fn(Ball, float) -> float"


async def test_rename_across_import(client: LanguageClient, project):
    main = project / "main.dp"
    await open_doc(client, main)
    edit = await client.text_document_rename_async(T.RenameParams(*at(main, 14, 16), new_name="peak"))
    got = {u.rsplit("/", 1)[1]: sorted((e.range.start.line, e.range.start.character) for e in es)
           for u, es in edit.changes.items()}
    assert got == {"main.dp": [(14, 14)], "physics.dp": [(6, 3)]}
    assert all(e.new_text == "peak" for es in edit.changes.values() for e in es)
    with pytest.raises(Exception, match="`ode` names a module's file"):
        await client.text_document_prepare_rename_async(T.PrepareRenameParams(*at(main, 1, 8)))
    other = project / "uses_ode.dp"
    await open_doc(client, other, "import ode\nlet y = ode.euler\n")
    with pytest.raises(Exception, match="`euler` is defined in the standard library"):
        await client.text_document_prepare_rename_async(T.PrepareRenameParams(*at(other, 1, 13)))
    with pytest.raises(Exception, match="not a name DP allows"):
        await client.text_document_rename_async(T.RenameParams(*at(main, 4, 9), new_name="let"))


async def test_formatting_and_its_refusal(client: LanguageClient, project):
    path = project / "fmt.dp"
    await open_doc(client, path, "fn f(x:float)->float{\n  return x*2.0\n}\n\n\n# kept\nlet y=f(1.0)\n")
    edits = await client.text_document_formatting_async(T.DocumentFormattingParams(
        T.TextDocumentIdentifier(uri(path)), T.FormattingOptions(4, True)))
    assert edits[0].new_text == "fn f(x: float) -> float {\n    return x * 2.0\n}\n\n# kept\nlet y = f(1.0)\n"
    await change(client, path, 2, "let y = [1.0,   # a comment after an element\n  2.0]\n")
    edits = await client.text_document_formatting_async(T.DocumentFormattingParams(
        T.TextDocumentIdentifier(uri(path)), T.FormattingOptions(4, True)))
    assert edits[0].new_text == "let y = [\n    1.0,  # a comment after an element\n    2.0,\n]\n"
    await change(client, path, 3, "let y = 1.0 +   # a comment inside an operation\n  2.0\n")
    edits = await client.text_document_formatting_async(T.DocumentFormattingParams(
        T.TextDocumentIdentifier(uri(path)), T.FormattingOptions(4, True)))
    assert edits[0].new_text == "let y = 1.0 +  # a comment inside an operation\n    2.0\n"
    await change(client, path, 4, "let y = (1.0 +\n")
    with pytest.raises(Exception, match="DP did not format the file: the file has a syntax error at line 1"):
        await client.text_document_formatting_async(T.DocumentFormattingParams(
            T.TextDocumentIdentifier(uri(path)), T.FormattingOptions(4, True)))


async def test_show_derivative_opens_a_read_only_document(client: LanguageClient, project):
    main = project / "main.dp"
    await open_doc(client, main)
    lenses = await client.text_document_code_lens_async(T.CodeLensParams(T.TextDocumentIdentifier(uri(main))))
    assert [(lens.range.start.line, lens.command.title, list(lens.command.arguments[1:])) for lens in lenses] == [
        (3, "Show derivative", ["energy", "reverse"]), (3, "Show forward derivative", ["energy", "forward"])]
    result = await client.workspace_execute_command_async(T.ExecuteCommandParams(
        "dp.showDerivative", [uri(main), "energy", "reverse"]))
    assert result["uri"].startswith("dp-derivative:/energy.grad.dp?")
    text = result["text"]
    assert text.startswith("# grad(energy): the code DP derives from `energy` in main.dp (read-only)\n\n"
                           "fn energy_grad(b: physics.Ball, k: float) -> physics.Ball {\n")
    assert "    b_bar_vel = b_bar_vel + kinetic_bar * b.vel\n" in text
    assert "    return physics.Ball { pos: b_bar_pos, vel: b_bar_vel }\n" in text
    assert client.shown_documents[-1].uri == result["uri"]
    # the editor fetches the document's text by its URI
    content = await client.workspace_text_document_content_async(T.TextDocumentContentParams(uri=result["uri"]))
    assert content.text == text
    forward = await client.workspace_execute_command_async(T.ExecuteCommandParams(
        "dp.showDerivative", [uri(main), "energy", "forward"]))
    assert "fn energy_jvp(b: physics.Ball, k: float, b_dot: physics.Ball, k_dot: float) -> (float, float) {" \
        in forward["text"]
    with pytest.raises(Exception, match="no function named `nothere`"):
        await client.workspace_execute_command_async(T.ExecuteCommandParams(
            "dp.showDerivative", [uri(main), "nothere", "reverse"]))


async def test_inlay_hints_mark_the_locals_that_carry_derivatives(client: LanguageClient, project):
    main = project / "main.dp"
    await open_doc(client, main)
    hints = await client.text_document_inlay_hint_async(T.InlayHintParams(
        T.TextDocumentIdentifier(uri(main)), T.Range(T.Position(0, 0), T.Position(12, 0))))
    assert [(h.position.line, h.position.character, h.label) for h in hints] == [
        (3, 11, " ∂"), (3, 28, " ∂"),             # the parameters b and k
        (4, 15, ": float ∂"),                     # kinetic
        (5, 9, ": int"),                          # n: an int carries no derivative
        (6, 13, ": float ∂"),                     # total
        (7, 9, ": int")]                          # the loop's i
    assert hints[2].tooltip == "carries a derivative: it depends on `b`, and the result depends on it"
