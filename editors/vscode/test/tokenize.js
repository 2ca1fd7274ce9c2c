// Tokenize DP files with VS Code's own TextMate engine (vscode-textmate on the
// Oniguruma regular expressions VS Code uses), with the extension's grammar.
// Prints, for each file, a list of lines, each a list of [text, innermost scope].
//
//     node test/tokenize.js FILE...
"use strict";

const fs = require("fs");
const path = require("path");
const vsctm = require("vscode-textmate");
const oniguruma = require("vscode-oniguruma");

const GRAMMAR = path.join(__dirname, "..", "syntaxes", "dp.tmLanguage.json");

async function loadGrammar() {
  const wasm = fs.readFileSync(require.resolve("vscode-oniguruma/release/onig.wasm")).buffer;
  await oniguruma.loadWASM(wasm);
  const registry = new vsctm.Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (patterns) => new oniguruma.OnigScanner(patterns),
      createOnigString: (s) => new oniguruma.OnigString(s),
    }),
    loadGrammar: async (scopeName) =>
      scopeName === "source.dp" ? vsctm.parseRawGrammar(fs.readFileSync(GRAMMAR, "utf8"), GRAMMAR) : null,
  });
  return registry.loadGrammar("source.dp");
}

async function tokenize(grammar, text) {
  let state = vsctm.INITIAL;
  const out = [];
  for (const line of text.split("\n")) {
    const r = grammar.tokenizeLine(line, state);
    out.push(r.tokens.map((t) => [line.slice(t.startIndex, t.endIndex), t.scopes[t.scopes.length - 1]]));
    state = r.ruleStack;
  }
  return out;
}

async function main(files) {
  const grammar = await loadGrammar();
  const result = {};
  for (const f of files) {
    result[f] = await tokenize(grammar, fs.readFileSync(f, "utf8"));
  }
  process.stdout.write(JSON.stringify(result));
}

module.exports = { loadGrammar, tokenize };

if (require.main === module) {
  main(process.argv.slice(2)).catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
