// `npm test`: the extension activates against a stand-in for VS Code's API: it starts
// `dp lsp` as the language client's server for DP files and registers its commands.
"use strict";

const test = require("node:test");
const assert = require("node:assert");
const Module = require("node:module");
const path = require("node:path");

test("activate starts the language client for DP files and registers the commands", async () => {
  const registered = [];
  const clients = [];
  const vscode = {
    workspace: { getConfiguration: () => ({ get: () => ["/venv/bin/dp", "lsp"] }) },
    commands: { registerCommand: (name) => registered.push(name) && { dispose() {} }, executeCommand: async () => {} },
    window: {},
  };
  class LanguageClient {
    constructor(id, name, server, options) {
      clients.push({ id, name, server, options });
    }
    start() {
      return Promise.resolve("started");
    }
    stop() {}
  }
  const fakes = { vscode, "vscode-languageclient/node": { LanguageClient, TransportKind: { stdio: 0 } } };
  const resolve = Module._load;
  Module._load = function (request, parent, isMain) {
    return request in fakes ? fakes[request] : resolve.call(this, request, parent, isMain);
  };
  try {
    const ext = require(path.join(__dirname, "..", "extension.js"));
    const context = { subscriptions: [] };
    assert.strictEqual(await ext.activate(context), "started");
    assert.deepStrictEqual(registered, ["dp.showDerivativeHere", "dp.restartServer"]);
    assert.strictEqual(clients.length, 1);
    assert.deepStrictEqual(clients[0].server, { command: "/venv/bin/dp", args: ["lsp"], transport: 0 });
    assert.deepStrictEqual(clients[0].options.documentSelector.map((s) => s.language), ["dp", "dp"]);
  } finally {
    Module._load = resolve;
  }
});
