/**
 * The Satchel demo: a visit counter, sign in / sign out, a flash message,
 * "remember me", and a devices page (list your sessions, sign one out), on the
 * default store (a SQLite file in the OS temp dir; no store option), or in
 * PostgreSQL with STORE=postgres.
 *
 *   npm install && npm run demo        (Bun, from node_modules)
 *   deno run -A examples/demo.ts
 *   node examples/demo.ts              (Node 24+)
 *   STORE=postgres DATABASE_URL=postgres://user@127.0.0.1/app node examples/demo.ts
 *
 * Env: PORT (default 3000), HOST (default 127.0.0.1), SATCHEL_SECRET; STORE
 * (sqlite or postgres), DATABASE_URL (for postgres: Bun's SQL on Bun, postgres.js elsewhere).
 */
import { Hono } from "hono";
import { csrf } from "hono/csrf";
import { html } from "hono/html";
import process from "node:process";
import { session, type SessionEnv } from "../mod.ts";
import type { SessionStore } from "../src/store/contract.ts"; // "satchel/store" in your app
import { exampleSecret, serve } from "./serve.ts";

/** What this app keeps in a session. */
type Data = { visits: number; user: string; device: string };

const app = new Hono<SessionEnv<Data>>();

// Refuses cross-site form posts (checks the Origin header).
app.use(csrf());
/** STORE=postgres: a PostgresStore on DATABASE_URL (`satchel/postgres` in an app of yours). */
async function postgresStore(url: string | undefined): Promise<SessionStore> {
  if (url === undefined) throw new Error("Cannot start the demo: STORE=postgres needs DATABASE_URL (postgres://…)");
  const { PostgresStore } = await import("../src/store/postgres.ts");
  const g = globalThis as { Bun?: { SQL: new (url: string) => object } };
  const client = g.Bun !== undefined ? new g.Bun.SQL(url) : (await import("postgres")).default(url, { onnotice() {} });
  const store = new PostgresStore({ client });
  await store.ready(); // creates the table, or fails here saying how to fix it
  return store;
}
const store = process.env.STORE === "postgres" ? await postgresStore(process.env.DATABASE_URL) : undefined;

// Without a `store` option, sessions go to <os temp dir>/satchel-<uid>/demo.sqlite.
app.use(session(store === undefined ? { secret: exampleSecret(), name: "demo" } : { secret: exampleSecret(), store }));

function page(body: ReturnType<typeof html>, message: string | undefined) {
  return html`
    <!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>Satchel demo</title>
        <style>
      body { font: 16px/1.5 system-ui, sans-serif; max-width: 32rem; margin: 3rem auto; padding: 0 1rem; }
      .flash { background: #e6f4ea; border: 1px solid #9ccfa8; padding: .5rem .75rem; border-radius: .25rem; }
      form { display: flex; gap: .5rem; margin: 1rem 0; }
      code { background: #f3f3f3; padding: 0 .25rem; }
      table { border-collapse: collapse; } td, th { padding: .25rem .5rem; text-align: left; }
    </style>
      </head>
      <body>
    <h1>Satchel demo</h1>
    ${message === undefined ? "" : html`<p class="flash" id="flash" role="status">${message}</p>`}
    ${body}
    <p><small>Session data lives on the server (${store === undefined
      ? "SQLite"
      : "PostgreSQL"}). Your browser holds only a signed, <code>HttpOnly</code> id.</small></p>
      </body>
    </html>
  `;
}

app.get("/", async (c) => {
  const s = await c.get("session").load(); // at once on SQLite; one read on an asynchronous store (Postgres)
  const visits = s.update("visits", (n) => (n ?? 0) + 1);
  const user = s.get("user");
  const message = s.flash<string>("message");
  const who = user === undefined
    ? html`<form method="post" action="/login">
  <label>Name <input name="user" required maxlength="40" autocomplete="username"></label>
  <label><input type="checkbox" name="remember"> Remember me</label>
  <button type="submit">Sign in</button>
</form>`
    : html`<p id="user">Signed in as <strong>${user}</strong>.</p>
<p><a href="/devices" id="devices-link">Your devices</a></p>
<form method="post" action="/logout"><button type="submit">Sign out</button></form>`;
  return c.html(page(html`<p id="visits">Visits this session: <strong>${visits}</strong></p>${who}`, message));
});

app.post("/login", async (c) => {
  const form = await c.req.parseBody();
  const user = typeof form.user === "string" ? form.user.trim() : "";
  if (user === "" || user.length > 40) return c.text("Give a name of 1 to 40 characters.", 400);
  const s = await c.get("session").load();
  s.regenerate(); // new id on every privilege change: no session fixation
  s.setUser(user); // the devices page lists this user's sessions
  s.set("user", user);
  s.set("device", (c.req.header("user-agent") ?? "unknown browser").slice(0, 60));
  if (form.remember === "on") s.setExpires(30 * 24 * 3600); // "remember me": 30 days, persistent cookie
  s.flash("message", `Welcome, ${user}!`);
  return c.redirect("/", 303);
});

// The devices page: every session of the signed-in user, each with a sign-out button but this one.
app.get("/devices", async (c) => {
  const s = await c.get("session").load();
  if (s.userId === null) return c.redirect("/", 303);
  const rows = (await s.userSessions()).map((d) =>
    html`
      <tr class="device${d.current ? " current" : ""}">
        <td>${d.data.device ?? "unknown"}</td>
        <td>${new Date(d.createdAt).toISOString().slice(0, 16).replace("T", " ")}</td>
        <td>${d.current
          ? html`<strong>this device</strong>`
          : html`<form method="post" action="/devices/${d.handle}/sign-out">
    <button type="submit">Sign out</button></form>`}</td>
      </tr>
    `
  );
  return c.html(page(
    html`
      <h2>Your devices</h2>
      <table id="devices"><tr><th>Device</th><th>Signed in (UTC)</th><th></th></tr>${rows}</table>
      <p><a href="/">Back</a></p>
    `,
    s.flash<string>("message"),
  ));
});

app.post("/devices/:handle/sign-out", async (c) => {
  const s = await c.get("session").load();
  const ended = await s.destroyUserSession(c.req.param("handle"));
  s.flash("message", ended ? "That device is signed out." : "That session had already ended.");
  return c.redirect("/devices", 303);
});

app.post("/logout", async (c) => {
  const s = await c.get("session").load();
  s.destroy(); // deletes the row; the flash below starts a fresh session
  s.flash("message", "You are signed out.");
  return c.redirect("/", 303);
});

await serve(app, "Satchel demo");
