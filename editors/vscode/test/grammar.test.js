// `npm test`: the grammar tokenizes DP as the language reads it.
"use strict";

const test = require("node:test");
const assert = require("node:assert");
const { loadGrammar, tokenize } = require("./tokenize.js");

test("a function, its keywords, numbers, a string with an escape, and a comment", async () => {
  const g = await loadGrammar();
  const [line1, line2] = await tokenize(g, 'fn f(x: float) -> float { return x * 2.5e-3 }  # note\nprint("a\\n", 0..3)');
  const scope = (tokens, text) => tokens.find((t) => t[0] === text)[1];
  assert.strictEqual(scope(line1, "fn"), "storage.type.function.dp");
  assert.strictEqual(scope(line1, "f"), "entity.name.function.dp");
  assert.strictEqual(scope(line1, "float"), "support.type.primitive.dp");
  assert.strictEqual(scope(line1, "return"), "keyword.control.dp");
  assert.strictEqual(scope(line1, "2.5e-3"), "constant.numeric.float.dp");
  assert.strictEqual(scope(line1, "# note"), "comment.line.number-sign.dp");
  assert.strictEqual(scope(line2, "print"), "support.function.builtin.dp");
  assert.strictEqual(scope(line2, "\\n"), "constant.character.escape.dp");
  assert.strictEqual(scope(line2, ".."), "keyword.operator.range.dp");
});
