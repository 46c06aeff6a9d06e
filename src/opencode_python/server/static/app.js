// opencode-python's web viewer: plain JS over OpenCode's HTTP API, served from this
// server (same origin, so the browser's basic-auth credentials cover every call and
// the event stream). Every piece of text from the server or the model goes into the
// page as text (textContent / text nodes), never as HTML.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);

  const state = {
    sessions: new Map(), // id -> OpenCode Session
    status: new Map(), // session id -> {type: "busy" | "idle" | "retry", ...}
    pending: new Map(), // permission request id -> PermissionRequest
    current: null, // the session shown
    messages: new Map(), // message id -> {info, parts: Map(part id -> part)}
    messageEls: new Map(), // message id -> <article>
    partEls: new Map(), // part id -> element
    loadSeq: 0,
    loading: false,
    buffered: [], // events for the shown session that came while its messages loaded
  };

  // --- helpers ---------------------------------------------------------------------

  /** An element; string children become text nodes (never HTML). */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = String(value);
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children) {
      if (child !== null && child !== undefined && child !== false) node.append(child);
    }
    return node;
  }

  const enc = encodeURIComponent;

  async function api(method, path, body) {
    const init = { method, headers: { Accept: "application/json" }, credentials: "same-origin" };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const res = await fetch(path, init);
    if (!res.ok) {
      let detail = `${res.status} ${res.statusText}`;
      try {
        const data = await res.json();
        detail = (data && data.data && data.data.message) || (data && data.message) || detail;
      } catch (_) {
        /* not JSON */
      }
      const error = new Error(detail);
      error.status = res.status;
      throw error;
    }
    if (res.status === 204) return null;
    const text = await res.text();
    return text ? JSON.parse(text) : null;
  }

  function when(ms) {
    if (!ms) return "";
    const date = new Date(ms);
    const today = new Date().toDateString() === date.toDateString();
    return today
      ? date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })
      : date.toLocaleDateString([], { month: "short", day: "numeric" });
  }

  function pretty(value) {
    if (value === undefined || value === null) return "";
    if (typeof value === "string") return value;
    try {
      return JSON.stringify(value, null, 2);
    } catch (_) {
      return String(value);
    }
  }

  function showError(message) {
    const box = el(
      "div",
      { class: "error" },
      el("span", { text: message }),
      el("button", { type: "button", class: "dismiss", title: "Dismiss", text: "×" })
    );
    box.querySelector("button").addEventListener("click", () => box.remove());
    $("errors").append(box);
  }

  /** Run ``change`` and keep the message list pinned to the bottom if it was there. */
  function keepingScroll(change) {
    const box = $("messages");
    const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 80;
    change();
    if (atBottom) box.scrollTop = box.scrollHeight;
  }

  function isBusy(id) {
    const status = state.status.get(id);
    return !!status && status.type !== "idle";
  }

  /** The session and its descendants (a subagent's ask shows in its parent too). */
  function inCurrentTree(sessionID) {
    let id = sessionID;
    for (let hops = 0; id && hops < 50; hops++) {
      if (id === state.current) return true;
      const session = state.sessions.get(id);
      id = session ? session.parentID : null;
    }
    return false;
  }

  // --- sessions --------------------------------------------------------------------

  async function loadSessions() {
    const list = await api("GET", "/session");
    state.sessions.clear();
    for (const session of list || []) state.sessions.set(session.id, session);
    renderSessions();
    renderHeader();
  }

  async function loadStatus() {
    try {
      const busy = (await api("GET", "/session/status")) || {};
      state.status.clear();
      for (const [id, status] of Object.entries(busy)) state.status.set(id, status);
    } catch (_) {
      /* optional */
    }
  }

  async function loadPermissions() {
    try {
      const list = (await api("GET", "/permission")) || [];
      state.pending.clear();
      for (const request of list) state.pending.set(request.id, request);
    } catch (_) {
      /* optional */
    }
    renderPermissions();
  }

  function renderSessions() {
    const list = $("session-list");
    const sessions = [...state.sessions.values()].filter((s) => !(s.time && s.time.archived));
    const children = new Map();
    for (const session of sessions) {
      const parent = session.parentID && state.sessions.has(session.parentID) ? session.parentID : "";
      if (!children.has(parent)) children.set(parent, []);
      children.get(parent).push(session);
    }
    for (const group of children.values()) {
      group.sort((a, b) => (b.time?.updated || 0) - (a.time?.updated || 0));
    }
    const asking = new Set([...state.pending.values()].map((p) => p.sessionID));
    const items = [];
    const add = (parent, depth) => {
      for (const session of children.get(parent) || []) {
        const badges = [];
        if (asking.has(session.id)) badges.push(el("span", { class: "badge ask", text: "needs approval" }));
        else if (isBusy(session.id)) badges.push(el("span", { class: "badge busy", text: "working" }));
        const link = el(
          "a",
          { href: `#${enc(session.id)}`, class: "session-link", title: session.title || session.id },
          el("span", { class: "session-name", text: session.title || session.id }),
          el("span", { class: "session-meta" }, when(session.time?.updated), ...badges)
        );
        const item = el("li", { class: "session", "data-id": session.id }, link);
        item.style.setProperty("--depth", String(depth));
        if (depth > 0) item.classList.add("child");
        if (session.id === state.current) item.classList.add("active");
        items.push(item);
        if (depth < 8) add(session.id, depth + 1);
      }
    };
    add("", 0);
    list.replaceChildren(...items);
    if (!items.length) list.append(el("li", { class: "empty", text: "No sessions yet." }));
  }

  function renderHeader() {
    const session = state.current ? state.sessions.get(state.current) : null;
    $("session-title").textContent = state.current
      ? (session && session.title) || state.current
      : "No session selected";
    const parent = $("parent-link");
    if (session && session.parentID) {
      parent.hidden = false;
      parent.href = `#${enc(session.parentID)}`;
      const parentSession = state.sessions.get(session.parentID);
      parent.textContent = `↑ parent: ${(parentSession && parentSession.title) || session.parentID}`;
    } else {
      parent.hidden = true;
    }
    renderBusy();
  }

  function renderBusy() {
    const open = !!state.current;
    const busy = open && isBusy(state.current);
    const status = open ? state.status.get(state.current) : null;
    const badge = $("session-status");
    badge.hidden = !open;
    badge.className = `status ${busy ? "busy" : "idle"}`;
    if (status && status.type === "retry") {
      badge.textContent = `retrying (attempt ${status.attempt || "?"}): ${status.message || ""}`;
    } else {
      badge.textContent = busy ? "working…" : "idle";
    }
    $("abort").hidden = !busy;
    $("prompt").disabled = !open;
    $("agent").disabled = !open;
    $("send").disabled = !open || busy;
  }

  async function createSession() {
    try {
      const session = await api("POST", "/session", {});
      state.sessions.set(session.id, session);
      renderSessions();
      location.hash = enc(session.id);
      $("prompt").focus();
    } catch (error) {
      showError(`Could not create a session: ${error.message}`);
    }
  }

  async function openSession(id) {
    state.current = id;
    const seq = ++state.loadSeq;
    state.messages.clear();
    state.messageEls.clear();
    state.partEls.clear();
    state.loading = true;
    state.buffered = [];
    $("errors").replaceChildren();
    $("messages").replaceChildren(el("p", { class: "empty", text: "Loading…" }));
    renderSessions();
    renderHeader();
    renderPermissions();
    let list;
    try {
      if (!state.sessions.has(id)) {
        state.sessions.set(id, await api("GET", `/session/${enc(id)}`));
        renderSessions();
        renderHeader();
      }
      list = await api("GET", `/session/${enc(id)}/message`);
    } catch (error) {
      if (seq !== state.loadSeq) return;
      state.loading = false;
      $("messages").replaceChildren(el("p", { class: "empty", text: "This session could not be loaded." }));
      showError(`Could not load the session: ${error.message}`);
      return;
    }
    if (seq !== state.loadSeq) return;
    $("messages").replaceChildren();
    for (const message of list || []) {
      upsertMessage(message.info);
      for (const part of message.parts || []) upsertPart(part);
    }
    state.loading = false;
    // Events that came during the load: their deltas may already be in what was loaded,
    // so only whole records are replayed (a part's final update carries its full text).
    const buffered = state.buffered;
    state.buffered = [];
    for (const event of buffered) {
      if (event.type !== "message.part.delta") handleSessionEvent(event);
    }
    renderEmpty();
    const box = $("messages");
    box.scrollTop = box.scrollHeight;
  }

  function renderEmpty() {
    const box = $("messages");
    const placeholder = box.querySelector(":scope > p.empty");
    if (state.messages.size && placeholder) placeholder.remove();
    if (!state.messages.size && !placeholder) {
      box.append(el("p", { class: "empty", text: "No messages yet: type a prompt below." }));
    }
  }

  // --- messages and parts ----------------------------------------------------------

  function insertSorted(container, node, id, selector) {
    for (const other of container.querySelectorAll(selector)) {
      if (other.dataset.id > id) {
        container.insertBefore(node, other);
        return;
      }
    }
    container.append(node);
  }

  function ensureMessage(info) {
    let message = state.messages.get(info.id);
    if (!message) {
      message = { info, parts: new Map() };
      state.messages.set(info.id, message);
      const article = el(
        "article",
        { class: "message", "data-id": info.id },
        el("header", { class: "message-head" }),
        el("div", { class: "parts" }),
        el("div", { class: "message-error", hidden: true })
      );
      state.messageEls.set(info.id, article);
      insertSorted($("messages"), article, info.id, ":scope > article.message");
      renderEmpty();
    }
    return message;
  }

  function upsertMessage(info) {
    const message = ensureMessage(info);
    message.info = { ...message.info, ...info };
    renderMessageHead(message);
  }

  function renderMessageHead(message) {
    const info = message.info;
    const article = state.messageEls.get(info.id);
    if (!article) return;
    const role = info.role || "assistant";
    article.classList.toggle("user", role === "user");
    article.classList.toggle("assistant", role !== "user");
    const bits = [el("span", { class: "role", text: role === "user" ? "You" : info.agent || "assistant" })];
    if (role !== "user" && info.modelID) {
      bits.push(el("span", { class: "model", text: `${info.providerID ? info.providerID + "/" : ""}${info.modelID}` }));
    }
    if (info.time && info.time.created) bits.push(el("span", { class: "time", text: when(info.time.created) }));
    article.querySelector(".message-head").replaceChildren(...bits);
    const error = article.querySelector(".message-error");
    if (info.error) {
      const aborted = info.error.name === "MessageAbortedError";
      const text = (info.error.data && info.error.data.message) || info.error.name;
      error.hidden = false;
      error.className = `message-error${aborted ? " aborted" : ""}`;
      error.textContent = aborted ? "Aborted." : `${info.error.name}: ${text}`;
    } else {
      error.hidden = true;
    }
  }

  function upsertPart(part) {
    const message = ensureMessage({ id: part.messageID, sessionID: part.sessionID, role: "assistant" });
    const known = message.parts.get(part.id);
    const merged = known ? { ...known, ...part } : part;
    message.parts.set(part.id, merged);
    let node = state.partEls.get(part.id);
    if (!node) {
      node = el("div", { class: "part", "data-id": part.id });
      state.partEls.set(part.id, node);
      const container = state.messageEls.get(part.messageID).querySelector(".parts");
      insertSorted(container, node, part.id, ":scope > .part");
    }
    renderPart(merged, node);
  }

  function applyDelta(props) {
    const message = state.messages.get(props.messageID);
    const part = message && message.parts.get(props.partID);
    const field = props.field || "text";
    if (!part) {
      upsertPart({
        id: props.partID,
        messageID: props.messageID,
        sessionID: props.sessionID,
        type: "text",
        [field]: props.delta,
      });
      return;
    }
    part[field] = (part[field] || "") + props.delta;
    renderPart(part, state.partEls.get(part.id));
  }

  function removePart(props) {
    const message = state.messages.get(props.messageID);
    if (message) message.parts.delete(props.partID);
    const node = state.partEls.get(props.partID);
    if (node) node.remove();
    state.partEls.delete(props.partID);
  }

  function removeMessage(id) {
    const message = state.messages.get(id);
    if (message) for (const partID of message.parts.keys()) state.partEls.delete(partID);
    state.messages.delete(id);
    const node = state.messageEls.get(id);
    if (node) node.remove();
    state.messageEls.delete(id);
    renderEmpty();
  }

  /** Give ``node`` the skeleton for ``type`` once; later renders fill it in. */
  function skeleton(node, type, build) {
    if (node.dataset.type === type) return;
    node.dataset.type = type;
    node.className = `part ${type}`;
    node.replaceChildren(...build());
  }

  function renderPart(part, node) {
    if (!node) return;
    switch (part.type) {
      case "text":
        skeleton(node, "text", () => [el("div", { class: "body" })]);
        node.classList.toggle("synthetic", !!part.synthetic);
        node.hidden = !!part.ignored;
        node.querySelector(".body").textContent = part.text || "";
        break;
      case "reasoning":
        skeleton(node, "reasoning", () => [
          el("details", { open: true }, el("summary", { text: "Thinking" }), el("div", { class: "body" })),
        ]);
        node.querySelector(".body").textContent = part.text || "";
        break;
      case "tool":
        renderTool(part, node);
        break;
      case "subtask":
        skeleton(node, "subtask", () => [el("div", { class: "body" })]);
        node
          .querySelector(".body")
          .replaceChildren(
            el("span", { class: "label", text: `Subtask for @${part.agent || "?"}` }),
            " ",
            part.description || "",
            part.prompt ? el("pre", { class: "input", text: part.prompt }) : null
          );
        break;
      case "file":
        skeleton(node, "file", () => [el("div", { class: "body" })]);
        node.querySelector(".body").textContent = `📎 ${part.filename || part.url || "file"} (${part.mime || "?"})`;
        break;
      case "compaction":
        skeleton(node, "compaction", () => [el("div", { class: "body", text: "— earlier conversation compacted —" })]);
        break;
      case "step-start":
      case "step-finish":
      case "snapshot":
      case "patch":
        skeleton(node, part.type, () => []);
        node.hidden = true;
        break;
      default:
        skeleton(node, "other", () => [el("div", { class: "body" })]);
        node.querySelector(".body").textContent = `[${part.type} part]`;
    }
  }

  function renderTool(part, node) {
    skeleton(node, "tool", () => [
      el("div", { class: "tool-head" }),
      el("pre", { class: "input" }),
      el("div", { class: "tool-link" }),
      el("pre", { class: "output", hidden: true }),
      el("pre", { class: "tool-error", hidden: true }),
    ]);
    const toolState = part.state || {};
    const status = toolState.status || "pending";
    node.className = `part tool status-${status}`;
    const input = toolState.input || {};
    node
      .querySelector(".tool-head")
      .replaceChildren(
        el("span", { class: "tool-name", text: part.tool || "tool" }),
        el("span", { class: "tool-title", text: toolState.title || "" }),
        el("span", { class: `tool-status ${status}`, text: status })
      );
    const inputBox = node.querySelector(".input");
    if (typeof input.command === "string") {
      inputBox.textContent = `$ ${input.command}`;
    } else if (Object.keys(input).length) {
      inputBox.textContent = pretty(input);
    } else {
      inputBox.textContent = typeof toolState.raw === "string" ? toolState.raw : "";
    }
    inputBox.hidden = !inputBox.textContent;

    const linkBox = node.querySelector(".tool-link");
    const metadata = toolState.metadata || {};
    const child = part.tool === "task" ? metadata.session_id || metadata.sessionId : null;
    if (child) {
      const childSession = state.sessions.get(child);
      const label = (childSession && childSession.title) || child;
      linkBox.replaceChildren(
        el("a", { href: `#${enc(child)}`, class: "child-session", text: `Open subagent session: ${label}` })
      );
      linkBox.hidden = false;
    } else {
      linkBox.replaceChildren();
      linkBox.hidden = true;
    }

    const output = node.querySelector(".output");
    const text =
      status === "completed"
        ? toolState.output || ""
        : status === "running" && typeof metadata.output === "string"
          ? metadata.output
          : "";
    output.textContent = text;
    output.hidden = !text;
    const error = node.querySelector(".tool-error");
    error.textContent = status === "error" ? toolState.error || "error" : "";
    error.hidden = status !== "error";
  }

  // --- permissions -----------------------------------------------------------------

  function renderPermissions() {
    const box = $("permissions");
    const asks = [...state.pending.values()].filter((p) => state.current && inCurrentTree(p.sessionID));
    box.replaceChildren(...asks.map(permissionCard));
    box.hidden = !asks.length;
  }

  function permissionCard(request) {
    const card = el("div", { class: "permission", "data-id": request.id });
    const other = request.sessionID !== state.current;
    const session = state.sessions.get(request.sessionID);
    card.append(
      el(
        "div",
        { class: "permission-head" },
        el("strong", { text: "Permission needed: " }),
        el("code", { text: request.permission || "?" }),
        other ? el("span", { class: "from", text: ` (from ${(session && session.title) || request.sessionID})` }) : null
      )
    );
    const patterns = request.patterns || [];
    if (patterns.length) {
      card.append(el("ul", { class: "patterns" }, ...patterns.map((p) => el("li", {}, el("code", { text: p })))));
    }
    const metadata = request.metadata || {};
    const input = metadata.input && typeof metadata.input === "object" ? metadata.input : metadata;
    if (typeof input.description === "string" && input.description) {
      card.append(el("div", { class: "description", text: input.description }));
    }
    if (Object.keys(metadata).length) {
      card.append(
        el("details", { class: "metadata" }, el("summary", { text: "Details" }), el("pre", { text: pretty(metadata) }))
      );
    }
    const always = (request.always || []).join(", ");
    if (always) card.append(el("div", { class: "always", text: `“Always” allows: ${always}` }));
    const buttons = el(
      "div",
      { class: "permission-actions" },
      el("button", { type: "button", class: "primary", "data-reply": "once", text: "Allow once" }),
      el("button", { type: "button", "data-reply": "always", title: always ? `Always allow: ${always}` : null, text: "Always" }),
      el("button", { type: "button", class: "danger", "data-reply": "reject", text: "Reject" })
    );
    for (const button of buttons.querySelectorAll("button")) {
      button.addEventListener("click", () => reply(request, button.dataset.reply, buttons));
    }
    card.append(buttons);
    return card;
  }

  async function reply(request, answer, buttons) {
    for (const button of buttons.querySelectorAll("button")) button.disabled = true;
    try {
      await api("POST", `/permission/${enc(request.id)}/reply`, { reply: answer });
    } catch (error) {
      if (error.status !== 404) {
        showError(`Could not answer the permission request: ${error.message}`);
        for (const button of buttons.querySelectorAll("button")) button.disabled = false;
        return;
      }
    }
    state.pending.delete(request.id);
    renderPermissions();
    renderSessions();
  }

  // --- prompt ----------------------------------------------------------------------

  async function loadAgents() {
    let agents = [];
    try {
      agents = (await api("GET", "/agent")) || [];
    } catch (_) {
      agents = []; // an older server without /agent: "build" only
    }
    let usable = agents.filter((a) => a && a.name && !a.hidden && a.mode !== "subagent");
    if (!usable.length) usable = [{ name: "build" }];
    const select = $("agent");
    const previous = select.value;
    select.replaceChildren(
      ...usable.map((a) => el("option", { value: a.name, title: a.description || null, text: a.name }))
    );
    const names = usable.map((a) => a.name);
    // the server lists its default agent first
    select.value = names.includes(previous) && select.dataset.chosen ? previous : names[0];
  }

  async function sendPrompt(event) {
    event.preventDefault();
    const box = $("prompt");
    const text = box.value;
    const id = state.current;
    if (!id || !text.trim() || isBusy(id)) return;
    const body = { parts: [{ type: "text", text }] };
    if ($("agent").value) body.agent = $("agent").value;
    box.value = "";
    $("errors").replaceChildren();
    state.status.set(id, { type: "busy" });
    renderBusy();
    try {
      await api("POST", `/session/${enc(id)}/prompt_async`, body);
    } catch (error) {
      if (!box.value) box.value = text;
      state.status.set(id, { type: "idle" });
      renderBusy();
      showError(`The prompt was not sent: ${error.message}`);
    }
  }

  async function abort() {
    if (!state.current) return;
    try {
      await api("POST", `/session/${enc(state.current)}/abort`);
    } catch (error) {
      showError(`Could not abort: ${error.message}`);
    }
  }

  // --- events ----------------------------------------------------------------------

  function handleSessionEvent(event) {
    const props = event.properties || {};
    keepingScroll(() => {
      switch (event.type) {
        case "message.updated":
          upsertMessage(props.info);
          break;
        case "message.part.updated":
          upsertPart(props.part);
          break;
        case "message.part.delta":
          applyDelta(props);
          break;
        case "message.part.removed":
          removePart(props);
          break;
        case "message.removed":
          removeMessage(props.messageID);
          break;
        default:
          break;
      }
    });
  }

  const SESSION_EVENTS = new Set([
    "message.updated",
    "message.part.updated",
    "message.part.delta",
    "message.part.removed",
    "message.removed",
  ]);

  function handle(event) {
    const props = event.properties || {};
    switch (event.type) {
      case "server.connected":
        resync();
        return;
      case "session.created":
      case "session.updated":
        if (props.info && props.info.id) {
          state.sessions.set(props.info.id, props.info);
          renderSessions();
          if (props.info.id === state.current) renderHeader();
        }
        return;
      case "session.deleted": {
        const id = props.sessionID || (props.info && props.info.id);
        state.sessions.delete(id);
        renderSessions();
        if (id === state.current) {
          state.current = null;
          history.replaceState(null, "", location.pathname);
          $("messages").replaceChildren(el("p", { class: "empty", text: "This session was deleted." }));
          renderHeader();
        }
        return;
      }
      case "session.status":
        state.status.set(props.sessionID, props.status || { type: "idle" });
        renderSessions();
        if (props.sessionID === state.current) renderBusy();
        return;
      case "session.idle":
        state.status.set(props.sessionID, { type: "idle" });
        renderSessions();
        if (props.sessionID === state.current) renderBusy();
        return;
      case "session.error":
        if (props.sessionID === state.current && props.error) {
          const error = props.error;
          if (error.name !== "MessageAbortedError") {
            showError(`${error.name}: ${(error.data && error.data.message) || ""}`);
          }
        }
        return;
      case "permission.asked":
        state.pending.set(props.id, props);
        renderPermissions();
        renderSessions();
        return;
      case "permission.replied":
        state.pending.delete(props.requestID);
        renderPermissions();
        renderSessions();
        return;
      default:
        if (SESSION_EVENTS.has(event.type) && props.sessionID === state.current) {
          if (state.loading) state.buffered.push(event);
          else handleSessionEvent(event);
        }
    }
  }

  /** After (re)connecting: what happened while the stream was down. */
  async function resync() {
    try {
      await loadStatus();
      await loadSessions();
      await loadPermissions();
    } catch (error) {
      showError(`Could not reach the server: ${error.message}`);
    }
    const wanted = decodeURIComponent(location.hash.slice(1));
    if (wanted) await openSession(wanted);
    else renderHeader();
  }

  function connect() {
    const connection = $("connection");
    const source = new EventSource("/event");
    source.onopen = () => {
      connection.textContent = "live";
      connection.className = "connection live";
    };
    source.onerror = () => {
      // EventSource reconnects by itself; server.connected then resyncs the page.
      connection.textContent = "reconnecting…";
      connection.className = "connection down";
    };
    source.onmessage = (message) => {
      let event;
      try {
        event = JSON.parse(message.data);
      } catch (_) {
        return;
      }
      if (event && typeof event.type === "string") handle(event);
    };
  }

  // --- start -----------------------------------------------------------------------

  function start() {
    $("new-session").addEventListener("click", createSession);
    $("prompt-form").addEventListener("submit", sendPrompt);
    $("abort").addEventListener("click", abort);
    $("agent").addEventListener("change", () => ($("agent").dataset.chosen = "1"));
    $("prompt").addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        $("prompt-form").requestSubmit();
      }
    });
    window.addEventListener("hashchange", () => {
      const id = decodeURIComponent(location.hash.slice(1));
      if (id && id !== state.current) openSession(id);
    });
    loadAgents();
    connect(); // server.connected loads the sessions, so no event falls between
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
