// Drives an OpenCode-compatible HTTP server with OpenCode's official JS SDK
// (@opencode-ai/sdk, its default v1 client) and prints ONE JSON summary to stdout.
//
//   npm install --prefix tests/server
//   node tests/server/sdk_client.mjs http://127.0.0.1:4096
//
// Env:
//   OC_PROVIDER / OC_MODEL     model the prompts use (default scripted / test-model)
//   OPENCODE_SERVER_PASSWORD   if set, sent as HTTP basic auth
//   OPENCODE_SERVER_USERNAME   basic-auth user name (default "opencode", as the real server)
//   OC_TIMEOUT_MS              overall deadline (default 90000)
//   OC_PROMPT_TEXT / OC_PERMISSION_PROMPT_TEXT   texts of the two prompts
//
// The model behind the server must answer: prompt 1 with plain text; prompt 2 with a
// `bash` tool call that asks permission (config "permission": {"bash": "ask"}), then
// with text once the tool result comes back. run_real_opencode.py scripts exactly that.
//
// Steps (any failure exits 1 with "sdk_client: FAILED: ..." on stderr):
//   event.subscribe (wait for server.connected) -> session.create -> session.prompt
//   -> session.messages -> session.update(title) -> session.prompt that asks permission
//   (not awaited) -> wait permission.asked -> postSessionIdPermissionsPermissionId
//   -> wait session.idle -> session.list -> a few read-only calls (recorded, non-fatal)
//   -> session.delete -> session.get (expects 404).

import { createOpencodeClient } from "@opencode-ai/sdk"

const baseUrl = process.argv[2]
if (!baseUrl) {
  console.error("usage: node sdk_client.mjs <server base URL>")
  process.exit(2)
}
const providerID = process.env.OC_PROVIDER || "scripted"
const modelID = process.env.OC_MODEL || "test-model"
const timeoutMs = Number(process.env.OC_TIMEOUT_MS || 90000)
const promptText = process.env.OC_PROMPT_TEXT || "Say hello"
const permissionPromptText =
  process.env.OC_PERMISSION_PROMPT_TEXT || "Please run the bash tool to echo hi"

const headers = {}
const password = process.env.OPENCODE_SERVER_PASSWORD
if (password) {
  const user = process.env.OPENCODE_SERVER_USERNAME || "opencode"
  headers.Authorization = "Basic " + Buffer.from(`${user}:${password}`).toString("base64")
}
// `headers` reach both the plain requests and the SSE request of event.subscribe.
const client = createOpencodeClient({ baseUrl, headers })

class Failure extends Error {}
const fail = (message) => {
  throw new Failure(message)
}

const deadline = setTimeout(() => {
  console.error(`sdk_client: FAILED: timed out after ${timeoutMs} ms; last step: ${step}`)
  console.error(`sdk_client: event types so far: ${JSON.stringify(dedupe(events.map((e) => e.type)))}`)
  process.exit(1)
}, timeoutMs)

let step = "start"
const events = []
const waiters = []

function dedupe(types) {
  return types.filter((t, i) => i === 0 || types[i - 1] !== t)
}

// Resolves with the first event (already received or future) that `predicate` accepts.
function waitForEvent(label, predicate, fromIndex = 0) {
  for (let i = fromIndex; i < events.length; i++) if (predicate(events[i])) return Promise.resolve(events[i])
  return new Promise((resolve) => waiters.push({ label, predicate, resolve }))
}

function onEvent(event) {
  events.push(event)
  for (let i = waiters.length - 1; i >= 0; i--) {
    if (waiters[i].predicate(event)) {
      waiters[i].resolve(event)
      waiters.splice(i, 1)
    }
  }
}

// Unwraps an SDK result ({data, error, response}); fails on a non-2xx response.
function ok(label, result) {
  const status = result?.response?.status
  if (!result || result.error !== undefined || !result.response?.ok) {
    fail(`${label}: HTTP ${status ?? "(no response)"} ${JSON.stringify(result?.error ?? null)}`)
  }
  return result.data
}

async function record(label, call, summarize) {
  try {
    const result = await call()
    const status = result?.response?.status ?? null
    if (result?.error !== undefined || !result?.response?.ok) {
      return { ok: false, status, error: result?.error ?? null }
    }
    return { ok: true, status, ...summarize(result.data) }
  } catch (error) {
    return { ok: false, status: null, error: String(error) }
  }
}

const isSession = (s) => s && typeof s.id === "string" && typeof s.title === "string" && s.time
const sessionOf = (event) => event?.properties?.sessionID ?? event?.properties?.info?.sessionID
const idleOf = (sid) => (e) =>
  sessionOf(e) === sid &&
  (e.type === "session.idle" || (e.type === "session.status" && e.properties?.status?.type === "idle"))

async function main() {
  // --- events: subscribe first so nothing of the prompt is missed ---
  step = "event.subscribe"
  const abort = new AbortController()
  const sseErrors = []
  const subscription = await client.event.subscribe({
    signal: abort.signal,
    sseMaxRetryAttempts: 1,
    onSseError: (error) => {
      if (!abort.signal.aborted) sseErrors.push(String(error))
    },
  })
  const pump = (async () => {
    try {
      for await (const event of subscription.stream) {
        if (event && typeof event === "object") onEvent(event)
      }
    } catch (error) {
      if (!abort.signal.aborted) sseErrors.push(String(error))
    }
  })()
  const connected = await Promise.race([
    waitForEvent("server.connected", (e) => e.type === "server.connected"),
    new Promise((resolve) => setTimeout(() => resolve(null), 10000)),
  ])
  if (!connected) fail(`no server.connected event within 10 s of GET /event (SSE errors: ${JSON.stringify(sseErrors)})`)
  const firstEventType = events[0]?.type

  // --- create ---
  step = "session.create"
  const created = ok("session.create", await client.session.create({ body: {} }))
  if (!isSession(created)) fail(`session.create returned no Session: ${JSON.stringify(created)}`)
  const sid = created.id

  // --- prompt 1: plain text ---
  step = "session.prompt (text)"
  let mark = events.length
  const promptResponse = ok(
    "session.prompt",
    await client.session.prompt({
      path: { id: sid },
      body: { model: { providerID, modelID }, parts: [{ type: "text", text: promptText }] },
    }),
  )
  if (promptResponse?.info?.role !== "assistant") fail(`session.prompt: no assistant message: ${JSON.stringify(promptResponse)}`)
  const answerText = (promptResponse.parts || [])
    .filter((p) => p.type === "text")
    .map((p) => p.text)
    .join("")
  if (!answerText) fail(`session.prompt: the assistant message has no text part: ${JSON.stringify(promptResponse.parts)}`)
  step = "wait idle after prompt 1"
  await waitForEvent("idle after prompt 1", idleOf(sid), mark)

  // --- messages ---
  step = "session.messages"
  const messages = ok("session.messages", await client.session.messages({ path: { id: sid } }))
  if (!Array.isArray(messages) || messages.length < 2) fail(`session.messages: expected >= 2 messages, got ${JSON.stringify(messages)}`)
  const roles = messages.map((m) => m?.info?.role)
  if (roles[0] !== "user" || !roles.includes("assistant")) fail(`session.messages: unexpected roles ${JSON.stringify(roles)}`)

  step = "session.message"
  const oneMessage = ok(
    "session.message",
    await client.session.message({ path: { id: sid, messageID: promptResponse.info.id } }),
  )
  if (oneMessage?.info?.id !== promptResponse.info.id) fail(`session.message returned ${JSON.stringify(oneMessage)}`)

  // --- rename ---
  step = "session.update"
  const renamedTitle = `Renamed by SDK ${Date.now()}`
  const updated = ok("session.update", await client.session.update({ path: { id: sid }, body: { title: renamedTitle } }))
  if (updated?.title !== renamedTitle) fail(`session.update: title is ${JSON.stringify(updated?.title)}`)
  const fetched = ok("session.get", await client.session.get({ path: { id: sid } }))
  if (fetched?.title !== renamedTitle) fail(`session.get after update: title is ${JSON.stringify(fetched?.title)}`)

  // --- prompt 2: a tool call that asks permission ---
  step = "session.prompt (permission)"
  mark = events.length
  const isAsk = (e) => (e.type === "permission.asked" || e.type === "permission.updated") && sessionOf(e) === sid
  const secondPrompt = client.session.prompt({
    path: { id: sid },
    body: { model: { providerID, modelID }, parts: [{ type: "text", text: permissionPromptText }] },
  })
  const asked = await Promise.race([
    waitForEvent("permission.asked", isAsk, mark),
    secondPrompt.then((result) =>
      fail(`the permission prompt ended before any permission event: ${JSON.stringify(result?.data ?? result?.error)}`),
    ),
  ])
  const permissionAsked = { type: asked.type, properties: asked.properties }
  const permissionID = asked.properties.id
  step = "permission reply"
  const replied = ok(
    "postSessionIdPermissionsPermissionId",
    await client.postSessionIdPermissionsPermissionId({
      path: { id: sid, permissionID },
      body: { response: "once" },
    }),
  )
  step = "wait prompt 2"
  const secondResponse = ok("session.prompt (permission)", await secondPrompt)
  step = "wait idle after prompt 2"
  await waitForEvent("idle after prompt 2", idleOf(sid), mark)
  const repliedEvent = events.slice(mark).find((e) => e.type === "permission.replied") ?? null
  const toolParts = events
    .slice(mark)
    .filter((e) => e.type === "message.part.updated" && e.properties?.part?.type === "tool")
    .map((e) => e.properties.part)
  const lastTool = toolParts[toolParts.length - 1] ?? null
  if (lastTool?.state?.status !== "completed") fail(`the bash tool did not complete: ${JSON.stringify(lastTool)}`)

  // --- list ---
  step = "session.list"
  const listed = ok("session.list", await client.session.list())
  if (!Array.isArray(listed) || !listed.some((s) => s.id === sid)) fail(`session.list does not include ${sid}`)

  // --- read-only endpoints: recorded, not fatal ---
  step = "extras"
  const extras = {
    "session.status": await record("session.status", () => client.session.status(), (d) => ({ keys: Object.keys(d ?? {}) })),
    "session.children": await record("session.children", () => client.session.children({ path: { id: sid } }), (d) => ({ count: d?.length })),
    "session.todo": await record("session.todo", () => client.session.todo({ path: { id: sid } }), (d) => ({ count: d?.length })),
    "app.agents": await record("app.agents", () => client.app.agents(), (d) => ({ names: (d ?? []).map((a) => a.name) })),
    "path.get": await record("path.get", () => client.path.get(), (d) => ({ data: d })),
    "project.current": await record("project.current", () => client.project.current(), (d) => ({ id: d?.id, worktree: d?.worktree })),
    "config.get": await record("config.get", () => client.config.get(), (d) => ({ keys: Object.keys(d ?? {}) })),
    "config.providers": await record("config.providers", () => client.config.providers(), (d) => ({
      providers: (d?.providers ?? []).map((p) => p.id),
      default: d?.default,
    })),
    "provider.list": await record("provider.list", () => client.provider.list(), (d) => ({
      count: d?.all?.length,
      connected: d?.connected,
    })),
    "command.list": await record("command.list", () => client.command.list(), (d) => ({ names: (d ?? []).map((c) => c.name) })),
    "file.list": await record("file.list", () => client.file.list({ query: { path: "." } }), (d) => ({ names: (d ?? []).map((f) => f.name) })),
    "find.files": await record("find.files", () => client.find.files({ query: { query: "README" } }), (d) => ({ data: d })),
  }

  // --- delete ---
  step = "session.delete"
  const deleted = ok("session.delete", await client.session.delete({ path: { id: sid } }))
  const deletedOk = deleted === true
  if (!deletedOk) fail(`session.delete returned ${JSON.stringify(deleted)}`)
  step = "session.get after delete"
  const gone = await client.session.get({ path: { id: sid } })
  const getAfterDelete = { status: gone.response?.status ?? null, error: gone.error ?? null }
  if (getAfterDelete.status !== 404) fail(`session.get after delete: expected 404, got ${JSON.stringify(getAfterDelete)}`)
  await waitForEvent("session.deleted", (e) => e.type === "session.deleted" && sessionOf(e) === sid)

  abort.abort()
  await Promise.race([pump, new Promise((resolve) => setTimeout(resolve, 1000))])

  const types = events.map((e) => e.type)
  return {
    baseUrl,
    firstEventType,
    created,
    promptResponse,
    answerText,
    messages,
    message: oneMessage,
    renamedTitle: updated.title,
    permissionAsked,
    permissionReplyResult: replied,
    permissionReplied: repliedEvent && { type: repliedEvent.type, properties: repliedEvent.properties },
    permissionPromptResponse: secondResponse,
    toolPart: lastTool,
    listedCount: listed.length,
    deletedOk,
    getAfterDelete,
    extras,
    eventTypes: dedupe(types),
    eventCount: events.length,
    sawPartDelta: types.includes("message.part.delta"),
    sawIdle: types.includes("session.idle"),
    sawStatusIdle: events.some((e) => e.type === "session.status" && e.properties?.status?.type === "idle"),
    sseErrors,
  }
}

main()
  .then((summary) => {
    clearTimeout(deadline)
    process.stdout.write(JSON.stringify(summary, null, 2) + "\n")
    process.exit(0)
  })
  .catch((error) => {
    clearTimeout(deadline)
    const message = error instanceof Failure ? error.message : error?.stack || String(error)
    console.error(`sdk_client: FAILED at step "${step}": ${message}`)
    process.exit(1)
  })
