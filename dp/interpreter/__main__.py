from dp.interpreter.start import entry

entry()
