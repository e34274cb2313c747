// The admin pages' one way to the REST API: the console's session cookie, the header that marks the
// request as the console's own, JSON both ways, and errors as values the pages can show at a field.

export class ApiFailure extends Error {
  constructor(status, code, message, field, line, column, fields) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
    this.line = line;
    this.column = column;
    // Every field a plugin's validation refused, `[{field, message}]`, when it named several.
    this.fields = fields || (field ? [{ field, message }] : []);
  }
}

export async function api(method, path, body) {
  const headers = { accept: "application/json", "x-natter-console": "1" };
  const init = { method, headers, credentials: "same-origin" };
  if (body !== undefined) {
    headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (e) {
    throw new ApiFailure(0, "network", "The server cannot be reached. Check the connection and try again.");
  }
  if (response.status === 401) {
    window.location.assign("/agent/login");
    throw new ApiFailure(401, "unauthorized", "Signed out.");
  }
  const text = await response.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch (_) { data = null; }
  }
  if (!response.ok) {
    const error = (data && data.error) || {};
    throw new ApiFailure(response.status, error.code || "http_" + response.status,
      error.message || ("The server answered " + response.status + "."), error.field, error.line, error.column,
      error.fields);
  }
  return data;
}
