// One SOAP call (or one WSDL description) through node-soap, for the interop tests in tests/interop.
//
// Reads one JSON object from stdin and prints one JSON line to stdout:
//
//   {"wsdl": URL, "operation": NAME, "args": {...},
//    "soapHeaders": [...], "soap12": bool, "options": {...}}      (the last three optional)
//     -> {"ok": true, "result": <parsed result>, "request": <the request XML sent>}
//     -> {"ok": false, "status": <HTTP status>, "fault": <parsed Fault element>,
//         "body": <response text>, "request": <the request XML sent>}            (a SOAP fault)
//   {"describe": true, "wsdl": URL}
//     -> client.describe(): services, ports, operations and their input and output types
//
// A soapHeaders item is either an XML string, sent as it is, or
// {"header": <object>, "name": ..., "namespace": ..., "xmlns": ...}, node-soap's addSoapHeader
// arguments. "options" go to createClientAsync after {disableCache: true}; "soap12" sends SOAP 1.2.
// Anything else that goes wrong prints {"ok": false, "error": <message>} and exits with 2.

import soap from "soap";

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) {
    chunks.push(chunk);
  }
  return JSON.parse(Buffer.concat(chunks).toString("utf8"));
}

// JSON text of a value that may hold reference cycles (node-soap's type descriptions can):
// a reference back to an enclosing object becomes "[Circular]", shared non-cyclic ones are kept.
function toJson(value) {
  const enclosing = [];
  return JSON.stringify(value, function (key, item) {
    if (item === null || typeof item !== "object") {
      return item;
    }
    while (enclosing.length > 0 && enclosing[enclosing.length - 1] !== this) {
      enclosing.pop();
    }
    if (enclosing.includes(item)) {
      return "[Circular]";
    }
    enclosing.push(item);
    return item;
  });
}

async function createClient(request) {
  const options = { disableCache: true, ...(request.options ?? {}) };
  if (request.soap12) {
    options.forceSoap12Headers = true;
  }
  return soap.createClientAsync(request.wsdl, options);
}

function addHeaders(client, headers) {
  for (const header of headers ?? []) {
    if (typeof header === "string") {
      client.addSoapHeader(header);
    } else {
      client.addSoapHeader(header.header, header.name, header.namespace, header.xmlns);
    }
  }
}

function responseText(data) {
  if (data === undefined || data === null) {
    return null;
  }
  return typeof data === "string" ? data : Buffer.isBuffer(data) ? data.toString("utf8") : toJson(data);
}

async function call(request) {
  const client = await createClient(request);
  if (request.describe) {
    return client.describe();
  }
  addHeaders(client, request.soapHeaders);
  const method = client[`${request.operation}Async`];
  if (typeof method !== "function") {
    throw new Error(`node-soap made no method ${request.operation}Async from ${request.wsdl}`);
  }
  try {
    const [result] = await method.call(client, request.args ?? {});
    return { ok: true, result: result ?? null, request: client.lastRequest ?? null };
  } catch (error) {
    const fault = error?.root?.Envelope?.Body?.Fault;
    if (fault === undefined) {
      throw error;
    }
    return {
      ok: false,
      status: error.response?.status ?? null,
      fault,
      body: responseText(error.response?.data ?? error.body),
      request: client.lastRequest ?? null,
    };
  }
}

// What went wrong, for a person: the message, and the HTTP status and answer where there was one.
// node-soap also throws objects that are not Errors (e.g. a parse result), given as JSON.
function describeError(error) {
  const message = error instanceof Error && error.message ? error.message : toJson(error);
  const status = error?.response?.status;
  const body = responseText(error?.response?.data ?? error?.body);
  return [message, status ? `HTTP status ${status}` : null, body ? `answer: ${body.slice(0, 2000)}` : null]
    .filter(Boolean)
    .join("; ");
}

async function main() {
  try {
    const answer = await call(await readStdin());
    process.stdout.write(`${toJson(answer)}\n`);
  } catch (error) {
    process.stdout.write(`${toJson({ ok: false, error: describeError(error) })}\n`);
    process.exitCode = 2;
  }
}

await main();
