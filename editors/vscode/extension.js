// DP for VS Code: the language client for `dp lsp`, DP's language server.
// Highlighting comes from syntaxes/dp.tmLanguage.json (generated from grammar/dp.lark);
// everything else (diagnostics, hover, completion, definitions, rename, formatting, the
// "Show derivative" lenses and the activity hints) comes from the server.
"use strict";

const vscode = require("vscode");
const { LanguageClient, TransportKind } = require("vscode-languageclient/node");

let client;

function serverOptions() {
  const command = vscode.workspace.getConfiguration("dp").get("server.command") || ["dp", "lsp"];
  return { command: command[0], args: command.slice(1), transport: TransportKind.stdio };
}

async function showDerivativeHere() {
  // The function whose name is under the cursor, in the mode the user picks; the server
  // opens the derived code as a read-only `dp-derivative:` document.
  const editor = vscode.window.activeTextEditor;
  if (!editor || editor.document.languageId !== "dp") {
    return;
  }
  const range = editor.document.getWordRangeAtPosition(editor.selection.active, /[A-Za-z_][A-Za-z0-9_]*/);
  const name = range ? editor.document.getText(range) : await vscode.window.showInputBox({ prompt: "Function" });
  if (!name) {
    return;
  }
  const pick = await vscode.window.showQuickPick(
    [
      { label: "reverse", description: "grad: the gradient" },
      { label: "forward", description: "jvp: the tangent" },
      { label: "vjp", description: "the pullback" },
    ],
    { placeHolder: `Derivative of ${name}` }
  );
  if (!pick) {
    return;
  }
  try {
    await vscode.commands.executeCommand("dp.showDerivative", editor.document.uri.toString(), name, pick.label);
  } catch (err) {
    vscode.window.showWarningMessage(String(err && err.message ? err.message : err));
  }
}

function activate(context) {
  client = new LanguageClient("dp", "DP language server", serverOptions(), {
    documentSelector: [
      { scheme: "file", language: "dp" },
      { scheme: "untitled", language: "dp" },
    ],
  });
  context.subscriptions.push(
    vscode.commands.registerCommand("dp.showDerivativeHere", showDerivativeHere),
    vscode.commands.registerCommand("dp.restartServer", () => client.restart())
  );
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
