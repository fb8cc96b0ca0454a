// Validate KEDA objects against KEDA's CRD schema (@kubernetes-models/keda, generated from KEDA's Go types).
// Reads a JSON array of objects on stdin; prints one JSON line per object: {kind, name, errors}.
import { readFileSync } from "node:fs";
import * as keda from "@kubernetes-models/keda/keda.sh/v1alpha1";

const objects = JSON.parse(readFileSync(0, "utf8"));
let failed = false;
for (const object of objects) {
  const model = keda[object.kind];
  let errors = [];
  if (object.apiVersion !== "keda.sh/v1alpha1" || typeof model !== "function") {
    errors = [`not a KEDA kind: ${object.apiVersion} ${object.kind}`];
  } else {
    try {
      new model(object).validate();
    } catch (error) {
      errors = [String(error.message ?? error)];
    }
  }
  failed ||= errors.length > 0;
  console.log(JSON.stringify({ kind: object.kind, name: object.metadata?.name, errors }));
}
process.exit(failed ? 1 : 0);
