from dp.interpreter.cli import entry

entry()
