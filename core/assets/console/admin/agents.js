// Settings → Agents: everyone who answers chats, with their role (agent or admin) and a button to
// change it, and a form to add an agent who can sign in at once. On /api/v1/agents.

import {
  call, confirm, ensureStyles, failureText, field, h, header, say, showFieldError, statusLine, table,
} from "./settings-kit.js";

const ROLES = [
  { value: "agent", label: "Agent", hint: "answers chats" },
  { value: "admin", label: "Admin", hint: "answers chats and configures Natter" },
];

export async function render(main, ctx) {
  ensureStyles();
  const status = statusLine(ctx, "agents-status");
  const list = h(ctx, "div", { "data-testid": "agent-list" });
  const page = { ctx, status, list };
  main.append(
    header(ctx, "Agents", "The people who answer chats. Admins also see these settings."),
    status,
    createForm(page),
    h(ctx, "h2", {}, "Everyone"),
    list);
  await loadList(page);
}

function createForm(page) {
  const { ctx } = page;
  const name = field(ctx, "agent-name", "Name", h(ctx, "input", { type: "text", required: "", maxlength: "100", autocomplete: "off", "data-testid": "agent-form-name" }));
  const email = field(ctx, "agent-email", "Email", h(ctx, "input", { type: "email", required: "", autocomplete: "off", "data-testid": "agent-email" }));
  const password = field(ctx, "agent-password", "Password", h(ctx, "input", { type: "password", required: "", minlength: "10", autocomplete: "new-password", "data-testid": "agent-password" }),
    "At least 10 characters. Tell it to them; they can sign in at once.");
  const role = field(ctx, "agent-role", "Role", h(ctx, "select", { "data-testid": "agent-role" },
    ROLES.map((r) => h(ctx, "option", { value: r.value }, r.label + " (" + r.hint + ")"))));
  const submit = h(ctx, "button", { type: "submit", class: "primary", "data-testid": "agent-create" }, "Add agent");
  const form = h(ctx, "form", { class: "settings-form", novalidate: "", "aria-labelledby": "agent-create-title", "data-testid": "agent-form" },
    h(ctx, "h2", { id: "agent-create-title" }, "Add an agent"),
    name.node, email.node, password.node, role.node,
    h(ctx, "div", { class: "settings-actions" }, submit));
  const fields = { name, email, password, role };
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    say(page.status, "");
    // Checked before the agent is created, so a short password does not leave one without it.
    if (password.control.value.length < 10) {
      showFieldError(fields, { field: "password", message: "must be at least 10 characters" });
      return;
    }
    submit.disabled = true;
    try {
      const agent = await call(ctx, "POST", "/agents", { name: name.control.value.trim(), email: email.control.value.trim() });
      // The agent exists from here on: a later step that fails says what is left to do.
      try {
        await call(ctx, "PUT", "/agents/" + agent.id + "/password", { password: password.control.value });
        if (role.control.value !== "agent") {
          await call(ctx, "PUT", "/agents/" + agent.id + "/role", { role: role.control.value });
        }
      } catch (err) {
        say(page.status, agent.email + " was added, but: " + failureText(err) + " Set it from the list below or the CLI.", "error");
        await loadList(page);
        return;
      }
      showFieldError(fields, null);
      form.reset();
      say(page.status, "Added " + agent.name + " <" + agent.email + ">.", "ok");
      await loadList(page);
    } catch (err) {
      if (!showFieldError(fields, err)) { say(page.status, failureText(err), "error"); }
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

async function loadList(page) {
  const { ctx } = page;
  let agents;
  try {
    agents = await call(ctx, "GET", "/agents");
  } catch (err) {
    say(page.status, failureText(err), "error");
    return;
  }
  agents.sort((a, b) => a.name.localeCompare(b.name));
  page.list.replaceChildren(table(ctx, "Agents", ["Name", "Email", "Role", "Status", ""],
    agents.map((a) => row(page, a)), "agent-table"));
}

function row(page, agent) {
  const { ctx } = page;
  const isMe = ctx.me && ctx.me.id === agent.id;
  const other = agent.role === "admin" ? "agent" : "admin";
  const change = h(ctx, "button", { type: "button", "data-testid": "agent-role-change", "aria-label": (other === "admin" ? "Make " + agent.name + " an admin" : "Make " + agent.name + " a plain agent") },
    other === "admin" ? "Make admin" : "Make agent");
  change.addEventListener("click", async () => {
    const question = isMe
      ? "Drop your own admin role? You lose these settings when you next load the page."
      : (other === "admin" ? "Make " + agent.name + " an admin? They can then change every setting." : "Make " + agent.name + " a plain agent?");
    if (!await confirm(ctx, question, other === "admin" ? "Make admin" : "Make agent")) { return; }
    try {
      await call(ctx, "PUT", "/agents/" + agent.id + "/role", { role: other });
      say(page.status, agent.name + " is now " + (other === "admin" ? "an admin." : "an agent."), "ok");
      await loadList(page);
    } catch (err) {
      say(page.status, failureText(err), "error");
    }
  });
  return h(ctx, "tr", { "data-testid": "agent-row", "data-id": agent.id, "data-role": agent.role || "agent" },
    h(ctx, "td", {}, h(ctx, "span", { "data-testid": "agent-row-name" }, agent.name), isMe ? h(ctx, "span", { class: "muted" }, " (you)") : null),
    h(ctx, "td", { class: "break" }, agent.email),
    h(ctx, "td", {}, h(ctx, "span", { class: "badge " + (agent.role === "admin" ? "admin" : "agent"), "data-testid": "agent-row-role" }, agent.role || "agent")),
    h(ctx, "td", {}, agent.enabled ? agent.status : "disabled"),
    h(ctx, "td", { class: "actions" }, change));
}
