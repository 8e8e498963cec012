// The API docs' scripts go into the build, so the API server's /docs and /redoc
// work with no network (dalston/gateway/docs.py serves them): ReDoc's standalone
// script, and Swagger UI 5 (the first that renders OpenAPI 3.1, which FastAPI
// writes) under swagger-ui/.
import { copyFileSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const dist = new URL("../dist/", import.meta.url);
copyFileSync(require.resolve("redoc/bundles/redoc.standalone.js"), new URL("redoc.standalone.js", dist));

const swagger = new URL("swagger-ui/", dist);
mkdirSync(swagger, { recursive: true });
for (const name of ["swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png"]) {
  copyFileSync(require.resolve(`swagger-ui-dist/${name}`), new URL(name, swagger));
}
