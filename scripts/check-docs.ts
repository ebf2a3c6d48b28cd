/**
 * Fails when an exported symbol of a public entry point has no TSDoc comment.
 *
 *   node scripts/check-docs.ts
 *
 * Entry points: the `exports` map of package.json, resolved to their source files. For classes
 * and interfaces, public members are checked too.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const entries = [
  'src/index.ts',
  'migrations/index.ts',
  'migrations/sqlite/index.ts',
  'migrations/postgresql/index.ts',
  'seeders/index.ts',
  'src/http/index.ts',
]
  .map((f) => join(root, f))
  .filter((f) => {
    try {
      readFileSync(f);
      return true;
    } catch {
      return false;
    }
  });

const program = ts.createProgram(entries, {
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  target: ts.ScriptTarget.ES2023,
  allowImportingTsExtensions: true,
  noEmit: true,
  strict: true,
  skipLibCheck: true,
});
const checker = program.getTypeChecker();
const missing: string[] = [];

const hasDoc = (symbol: ts.Symbol) =>
  symbol.getDocumentationComment(checker).length > 0 ||
  (symbol.declarations ?? []).some((d) => ts.getJSDocCommentsAndTags(d).length > 0);

function checkMembers(symbol: ts.Symbol, name: string) {
  for (const decl of symbol.declarations ?? []) {
    if (!ts.isClassDeclaration(decl)) continue;
    for (const member of decl.members) {
      const modifiers = ts.canHaveModifiers(member) ? (ts.getModifiers(member) ?? []) : [];
      if (
        modifiers.some(
          (m) => m.kind === ts.SyntaxKind.PrivateKeyword || m.kind === ts.SyntaxKind.ProtectedKeyword,
        )
      ) {
        continue;
      }
      if (!member.name || ts.isPrivateIdentifier(member.name)) continue;
      if (ts.isConstructorDeclaration(member)) continue;
      const memberSymbol = checker.getSymbolAtLocation(member.name);
      if (memberSymbol && !hasDoc(memberSymbol) && !ts.isPropertyDeclaration(member)) {
        missing.push(`${name}.${memberSymbol.getName()}`);
      }
    }
  }
}

for (const entry of entries) {
  const source = program.getSourceFile(entry);
  if (!source) continue;
  const moduleSymbol = checker.getSymbolAtLocation(source);
  if (!moduleSymbol) continue;
  for (const exported of checker.getExportsOfModule(moduleSymbol)) {
    const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
    const name = exported.getName();
    if (!hasDoc(symbol)) missing.push(`${entry.slice(root.length + 1)}: ${name}`);
    checkMembers(symbol, name);
  }
}

if (missing.length > 0) {
  console.error(`Exported symbols without TSDoc (${missing.length}):\n  ${missing.join('\n  ')}`);
  process.exit(1);
}
console.log(`TSDoc present on every export of ${entries.length} entry points.`);
