// Prints one field of the JSON read from stdin, so the walk-through needs no jq:
//   echo '{"accepted":["ce6c64a3-..."]}' | node examples/json-field.mjs accepted 0   # prints ce6c64a3-...
let text = "";
for await (const chunk of process.stdin) text += chunk;
const path = process.argv.slice(2);
const value = path.reduce((object, key) => (object === null || typeof object !== "object" ? undefined : object[key]), JSON.parse(text));
if (value === undefined) {
  console.error(`json-field: no ${path.join(".")} in ${text}`);
  process.exit(1);
}
console.log(typeof value === "string" ? value : JSON.stringify(value));
