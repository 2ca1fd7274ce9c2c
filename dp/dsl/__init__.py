"""The DP language: parse → AST → check → transform."""
