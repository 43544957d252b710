// The API reference (TypeDoc over every public entry point) has nothing undocumented: every
// export of every subpath in package.json's `exports` carries a doc comment, every function
// and class an example, every link resolves, and no type a signature names is left out.
// `npm run docs:api` builds the same project as HTML into docs/api/.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  Application,
  type Comment,
  type DeclarationReflection,
  Logger,
  LogLevel,
  type ProjectReflection,
  ReflectionKind,
  TSConfigReader,
  TypeDocReader,
} from 'typedoc';
import { beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** Keeps every warning and error TypeDoc reports, so a failure lists them all. */
class CollectingLogger extends Logger {
  readonly problems: string[] = [];

  override log(message: string, level: LogLevel): void {
    super.log(message, level);
    if (level >= LogLevel.Warn) this.problems.push(`${LogLevel[level]}: ${message}`);
  }
}

type Exports = Record<string, string | { types?: string }>;
const exportsMap = (JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { exports: Exports })
  .exports;
/** Each public subpath and the source of the types its `exports` entry points at. */
const subpaths = Object.entries(exportsMap).flatMap(([subpath, target]) =>
  typeof target === 'object' && target.types !== undefined
    ? [
        {
          module: `notbefore${subpath.slice(1)}`,
          source: target.types.replace(/^\.\/dist\//, 'src/').replace(/\.d\.ts$/, '.ts'),
        },
      ]
    : [],
);

const hasExample = (comment: Comment | undefined): boolean =>
  comment?.getTag('@example') !== undefined;

describe('API reference (TypeDoc)', () => {
  let logger: CollectingLogger;
  let project: ProjectReflection | undefined;
  let entryPoints: string[];
  let elapsedMs = 0;

  beforeAll(async () => {
    const started = performance.now();
    const app = await Application.bootstrapWithPlugins(
      {
        options: `${root}typedoc.json`,
        tsconfig: `${root}tsconfig.json`,
        emit: 'none',
        validation: { notDocumented: true, notExported: true, invalidLink: true },
        treatValidationWarningsAsErrors: true,
      },
      [new TypeDocReader(), new TSConfigReader()],
    );
    const bootProblems = app.logger.hasErrors() || app.logger.hasWarnings();
    logger = new CollectingLogger();
    if (bootProblems) logger.problems.push('Error: typedoc.json could not be read cleanly');
    app.logger = logger;
    entryPoints = (app.options.getValue('entryPoints') as string[]).map((path) =>
      path.startsWith(root) ? path.slice(root.length) : path,
    );
    project = await app.convert();
    if (project !== undefined) app.validate(project);
    elapsedMs = performance.now() - started;
  }, 120_000);

  it('documents one entry point per public subpath, named after it', () => {
    expect(subpaths.length).toBeGreaterThanOrEqual(10);
    expect(new Set(entryPoints)).toEqual(new Set(subpaths.map((s) => s.source)));
    const modules = project?.getChildrenByKind(ReflectionKind.Module) ?? [];
    expect(new Set(modules.map((m) => m.name))).toEqual(new Set(subpaths.map((s) => s.module)));
    // What each subpath is for and which peer it needs: the first thing a reader sees.
    const uncommented = modules.filter((m) => (m.comment?.summary.length ?? 0) === 0);
    expect(uncommented.map((m) => m.name)).toEqual([]);
  });

  it('reports no undocumented export, unexported type or broken link', () => {
    expect(project).toBeDefined();
    expect(logger.problems).toEqual([]);
    // Conversion of the whole public API takes seconds; a minute would mean something broke.
    expect(elapsedMs).toBeLessThan(60_000);
  });

  it('gives every exported function and class an example', () => {
    const missing: string[] = [];
    const kinds = ReflectionKind.Function | ReflectionKind.Class | ReflectionKind.Variable;
    for (const reflection of project?.getReflectionsByKind(kinds) ?? []) {
      const declaration = reflection as DeclarationReflection;
      const callable =
        declaration.kindOf(ReflectionKind.Function) ||
        (declaration.type?.type === 'reflection' &&
          (declaration.type.declaration.signatures?.length ?? 0) > 0);
      if (!declaration.kindOf(ReflectionKind.Class) && !callable) continue;
      const documented =
        hasExample(declaration.comment) ||
        (declaration.signatures ?? []).some((signature) => hasExample(signature.comment));
      if (!documented) missing.push(declaration.getFullName());
    }
    expect(missing).toEqual([]);
  });
});
