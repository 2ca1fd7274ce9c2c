"""DP's language server (`dp lsp`): what an editor asks about a DP file, answered from
DP's own parser, checker and transforms, without running any of the file.

  analysis.py    a document parsed, checked and derived, keeping what the checker found
                 even when it found errors; its diagnostics
  positions.py   DP spans ↔ LSP positions (0-based lines, UTF-16 columns)
  index.py       every name's definition and references, and the names in scope
  describe.py    what hover and completion say about a name: types, differentiability
  completion.py  completion candidates and signature help
  activity.py    which locals of a function carry derivatives (inlay hints)
  formatting.py  whole-document formatting, every comment kept where it was
  derivative.py  "Show derivative": a function's derived source as a read-only document
  server.py      the pygls server that wires these to LSP requests

Every module but server.py is plain Python over DP's syntax trees, so the kernel
(interpreter/kernel) and the tests use them without pygls."""
