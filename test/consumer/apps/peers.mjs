// Imports one subpath of notbefore (or runs createAuth without a store) and prints one JSON
// line: whether it worked, the error message if not, and which packages the import loaded.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const specifier = process.argv[2];

/** Packages whose CommonJS files are in the module cache (express, pg, ioredis… are CommonJS). */
function loadedPackages() {
  const names = Object.keys(require.cache).map((file) => {
    const rest = file.slice(file.lastIndexOf('node_modules/') + 'node_modules/'.length);
    const parts = rest.split('/');
    return rest.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
  });
  return [...new Set(names)].sort();
}

try {
  if (specifier === 'createAuth()') {
    const { createAuth } = await import('notbefore');
    await createAuth({}).ready();
  } else {
    await import(specifier);
  }
  console.log(JSON.stringify({ specifier, ok: true, loaded: loadedPackages() }));
} catch (error) {
  console.log(JSON.stringify({ specifier, ok: false, message: error.message }));
}
process.exit(0);
