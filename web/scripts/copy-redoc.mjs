// ReDoc's standalone script goes into the build, so the API server's /redoc
// works with no network (dalston/gateway/docs.py serves it from /console/).
import { copyFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const script = require.resolve("redoc/bundles/redoc.standalone.js");
copyFileSync(script, new URL("../dist/redoc.standalone.js", import.meta.url));
