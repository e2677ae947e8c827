/**
 * Peer: express 5 + express-session + better-sqlite3-session-store on Node,
 * the benchmark app contract's routes.
 * Run: node bench/peers/express-session.js   (Node 24: node_modules/.bin/node)
 */
import Database from "better-sqlite3";
import betterSqliteStore from "better-sqlite3-session-store";
import express from "express";
import expressSession from "express-session";
import { dbPath, handleStop, newUser, port, PROFILE, SECRET, stats } from "./common.js";

const db = new Database(dbPath("express-session"));
db.pragma("journal_mode = WAL");
db.pragma("synchronous = NORMAL");
const SqliteStore = betterSqliteStore(expressSession);

const app = express();
app.set("etag", false);
app.set("x-powered-by", false);
app.use("/inc", (_req, res, next) => {
  res.on("finish", () => {
    if (res.statusCode === 200) stats.incOk++;
  });
  next();
});
app.use(expressSession({
  store: new SqliteStore({
    client: db,
    expired: { clear: true, intervalMs: 15 * 60_000 },
  }),
  secret: SECRET,
  resave: false,
  saveUninitialized: false,
  cookie: { httpOnly: true, sameSite: "lax", maxAge: 3600_000 },
}));
app.get("/login", (req, res, next) => {
  req.session.regenerate((err) => {
    if (err) return next(err);
    req.session.user = newUser();
    req.session.count = 0;
    req.session.profile = PROFILE;
    res.type("text").send("ok");
  });
});
app.get("/inc", (req, res) => {
  req.session.count = (req.session.count ?? 0) + 1;
  res.type("text").send(String(req.session.count));
});
app.get(
  "/read",
  (req, res) => res.type("text").send(String(req.session.count ?? 0)),
);
app.get("/plain", (_req, res) => res.type("text").send("plain"));
app.get("/new", (req, res) => {
  req.session.seen = 1;
  res.type("text").send("new");
});
app.get("/logout", (req, res, next) => {
  req.session.destroy((
    err,
  ) => (err ? next(err) : res.type("text").send("bye")));
});

const server = app.listen(
  port,
  "127.0.0.1",
  () => console.log(`listening on ${port}`),
);
handleStop(() =>
  new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
    db.close();
  })
);
