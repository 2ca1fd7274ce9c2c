from interpreter.cli import entry

entry()
