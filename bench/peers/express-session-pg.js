/**
 * Peer: express 5 + express-session + connect-pg-simple (its pg Pool of 10)
 * on Node, the benchmark app contract's routes, on the PostgreSQL server of
 * PG_URL (table "session", created by connect-pg-simple).
 * Run: PG_URL=postgres://… node bench/peers/express-session-pg.js   (Node 24: node_modules/.bin/node)
 */
import connectPgSimple from "connect-pg-simple";
import express from "express";
import expressSession from "express-session";
import pg from "pg";
import process from "node:process";
import { handleStop, newUser, port, PROFILE, SECRET, stats } from "./common.js";

const pool = new pg.Pool({
  connectionString: process.env.PG_URL,
  max: Number(process.env.PG_POOL ?? 10),
});
const PgStore = connectPgSimple(expressSession);

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
  store: new PgStore({
    pool,
    createTableIfMissing: true,
    pruneSessionInterval: false,
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
    server.close(() => resolve(pool.end()));
    server.closeAllConnections();
  })
);
